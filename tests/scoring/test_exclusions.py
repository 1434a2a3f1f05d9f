"""Applicability and hard constraints: each exclusion code, the non-excluding cautions, order."""

from __future__ import annotations

import pytest
from factories import availability, cost, facts, indication, rule, snapshot, therapy

from scoring import rank
from scoring.facts import TherapyFacts
from scoring.model import (
    AvailabilityStatus,
    CareSetting,
    IndicationStatus,
    Operator,
    PatientAttribute,
    PatientCase,
    Preferences,
    Severity,
    Weights,
)
from scoring.weights import DEFAULT_RATINGS

CASE = PatientCase(condition_id="cidp", age_years=40, egfr=25)


SCREEN_CAUTIONS = ("needs_check_", "home_after_supervised_infusions", "budget_unchecked")


def run(
    therapy_facts: TherapyFacts,
    case: PatientCase = CASE,
    preferences: Preferences | None = None,
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    """The engine's verdict on one therapy: its exclusion reasons, or its screen cautions."""
    profile = therapy_facts.therapy
    catalog = snapshot(
        therapies=(profile,),
        indications=(therapy_facts.indication,) if therapy_facts.indication else (),
        costs=(therapy_facts.cost,) if therapy_facts.cost else (),
        availability_rows=(therapy_facts.availability,) if therapy_facts.availability else (),
        risk_rules=therapy_facts.risk_rules,
    )
    result = rank(catalog, case, preferences or Preferences(), Weights(dict(DEFAULT_RATINGS)))
    if result.excluded:
        (exclusion,) = result.excluded
        return [(r.code, r.source) for r in exclusion.reasons], []
    (option,) = result.ranked
    return [], [(c.code, c.source) for c in option.cautions if c.code.startswith(SCREEN_CAUTIONS)]


def messages(therapy_facts: TherapyFacts) -> list[str]:
    catalog = snapshot(
        therapies=(therapy_facts.therapy,),
        indications=(therapy_facts.indication,) if therapy_facts.indication else (),
    )
    result = rank(catalog, CASE, Preferences(), Weights(dict(DEFAULT_RATINGS)))
    return [r.message for e in result.excluded for r in e.reasons]


def test_a_plain_first_line_therapy_passes() -> None:
    assert run(facts()) == ([], [])


def test_no_indication_is_counted_not_listed() -> None:
    # A therapy the catalog does not name for the condition is in no list: only counted.
    therapy_facts = facts(indication=None)
    catalog = snapshot(therapies=(therapy_facts.therapy,))
    result = rank(catalog, CASE, Preferences(), Weights(dict(DEFAULT_RATINGS)))
    assert (result.ranked, result.excluded, result.later) == ((), (), ())
    assert result.not_indicated_count == 1


@pytest.mark.parametrize(
    "status",
    [IndicationStatus.NOT_RECOMMENDED, IndicationStatus.HARMFUL, IndicationStatus.NO_ROLE],
)
def test_excluded_statuses_carry_the_indications_source_and_message(
    status: IndicationStatus,
) -> None:
    with_message = facts(indication_row=indication(status=status, message="Trial showed harm."))
    reasons, _ = run(with_message)
    assert reasons == [(status.value, "src-guideline")]
    assert messages(with_message) == ["Trial showed harm."]
    (plain,) = messages(facts(indication_row=indication(status=status)))
    assert plain


def test_a_curator_note_never_reaches_the_reason() -> None:
    noted = facts(indication_row=indication(status=IndicationStatus.HARMFUL, note="[K] check"))
    assert all("[K]" not in m for m in messages(noted))


def test_an_absolute_rule_that_applies_excludes_with_its_own_words() -> None:
    absolute = rule(severity=Severity.ABSOLUTE, code="severe_renal", message="Kidneys fail.")
    catalog = snapshot(therapies=(therapy(),), indications=(indication(),), risk_rules=(absolute,))
    result = rank(catalog, CASE, Preferences(), Weights(dict(DEFAULT_RATINGS)))
    assert [(r.code, r.message, r.source) for e in result.excluded for r in e.reasons] == [
        ("severe_renal", "Kidneys fail.", "src-rule")
    ]


def test_an_absolute_rule_on_an_unknown_attribute_asks_for_a_check() -> None:
    absolute = rule(
        attribute=PatientAttribute.PREGNANT,
        operator=Operator.EQ,
        value=True,
        severity=Severity.ABSOLUTE,
    )
    reasons, cautions = run(facts(risk_rules=(absolute,)))
    assert reasons == []
    assert cautions == [("needs_check_pregnant", "src-rule")]


def test_a_relative_rule_never_excludes() -> None:
    assert run(facts(risk_rules=(rule(),))) == ([], [])


@pytest.mark.parametrize(
    ("offered", "wanted", "excluded"),
    [
        ({CareSetting.HOSPITAL}, {CareSetting.HOME}, True),
        ({CareSetting.HOSPITAL}, {CareSetting.HOME, CareSetting.HOSPITAL}, False),
        ({CareSetting.HOSPITAL}, set(), False),
        (set(), {CareSetting.HOME}, False),  # needs no care setting at all (observation)
    ],
)
def test_care_setting(offered: set[CareSetting], wanted: set[CareSetting], excluded: bool) -> None:
    profile = therapy(care_settings=frozenset(offered))
    reasons, _ = run(facts(profile), preferences=Preferences(settings=frozenset(wanted)))
    assert reasons == ([("care_setting_unavailable", "src-label")] if excluded else [])


@pytest.mark.parametrize(
    ("prior", "wanted", "cautioned"),
    [
        (0, {CareSetting.HOME}, True),
        (3, {CareSetting.HOME}, False),
        (0, {CareSetting.HOME, CareSetting.HOSPITAL}, False),
        (0, set(), False),
    ],
)
def test_home_before_the_supervised_infusions_is_a_caution(
    prior: int, wanted: set[CareSetting], cautioned: bool
) -> None:
    profile = therapy(
        care_settings=frozenset({CareSetting.HOSPITAL, CareSetting.HOME}),
        home_after_supervised=3,
        home_rule_source_id="src-home",
    )
    case = PatientCase(condition_id="cidp", prior_supervised_infusions=prior)
    reasons, cautions = run(facts(profile), case, Preferences(settings=frozenset(wanted)))
    assert reasons == []
    assert cautions == ([("home_after_supervised_infusions", "src-home")] if cautioned else [])


@pytest.mark.parametrize(
    ("limit", "excluded"), [(None, False), (60_000.0, False), (40_000.0, True)]
)
def test_over_budget(limit: float | None, excluded: bool) -> None:
    reasons, _ = run(
        facts(cost=cost(amount=50_000.0)), preferences=Preferences(max_annual_cost=limit)
    )
    assert reasons == ([("over_budget", "src-cost")] if excluded else [])


def test_an_unknown_cost_is_never_silently_within_budget() -> None:
    assert run(facts(), preferences=Preferences(max_annual_cost=1.0)) == (
        [],
        [("budget_unchecked", None)],
    )


def test_without_a_budget_an_unknown_cost_asks_nothing() -> None:
    assert run(facts()) == ([], [])


@pytest.mark.parametrize(
    ("status", "excluded"),
    [
        (AvailabilityStatus.UNAVAILABLE, True),
        (AvailabilityStatus.SHORTAGE, False),
        (AvailabilityStatus.AVAILABLE, False),
    ],
)
def test_unavailable_in_region(status: AvailabilityStatus, excluded: bool) -> None:
    reasons, _ = run(facts(availability=availability(status=status)))
    assert reasons == ([("unavailable_in_region", "src-supply")] if excluded else [])


def test_every_reason_is_collected_in_a_stable_order() -> None:
    absolute_b = rule(
        attribute=PatientAttribute.AGE_YEARS,
        operator=Operator.GT,
        value=18.0,
        severity=Severity.ABSOLUTE,
        id="b",
        code="adult",
    )
    absolute_a = rule(severity=Severity.ABSOLUTE, id="a", code="renal")
    therapy_facts = facts(
        therapy(care_settings=frozenset({CareSetting.HOSPITAL})),
        indication(status=IndicationStatus.HARMFUL),
        risk_rules=(absolute_a, absolute_b),
        cost=cost(amount=50_000.0),
        availability=availability(status=AvailabilityStatus.UNAVAILABLE),
    )
    reasons, _ = run(
        therapy_facts,
        preferences=Preferences(settings=frozenset({CareSetting.HOME}), max_annual_cost=1.0),
    )
    assert [code for code, _ in reasons] == [
        "harmful",
        "renal",
        "adult",
        "care_setting_unavailable",
        "over_budget",
        "unavailable_in_region",
    ]
