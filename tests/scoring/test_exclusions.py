"""Applicability and hard constraints: each exclusion code, the non-excluding cautions, order."""

from __future__ import annotations

import pytest
from factories import availability, cost, facts, indication, rule, therapy

from scoring.criteria import annual_cost
from scoring.exclusions import screen
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
)
from scoring.rules import assess

CASE = PatientCase(condition_id="cidp", age_years=40, egfr=25)


def run(
    therapy_facts: TherapyFacts,
    case: PatientCase = CASE,
    preferences: Preferences | None = None,
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    screening = screen(
        therapy_facts,
        assess(therapy_facts.risk_rules, case),
        annual_cost(therapy_facts),
        case,
        preferences or Preferences(),
    )
    return (
        [(r.code, r.source) for r in screening.reasons],
        [(c.code, c.source) for c in screening.cautions],
    )


def test_a_plain_first_line_therapy_passes() -> None:
    assert run(facts()) == ([], [])


def test_no_indication_is_excluded_without_a_source() -> None:
    reasons, _ = run(facts(indication=None))
    assert reasons == [("no_indication", None)]
    therapy_facts = facts(indication=None)
    message = screen(therapy_facts, assess((), CASE), None, CASE, Preferences()).reasons[0].message
    assert "no evidence" in message


@pytest.mark.parametrize(
    "status",
    [IndicationStatus.NOT_RECOMMENDED, IndicationStatus.HARMFUL, IndicationStatus.NO_ROLE],
)
def test_excluded_statuses_carry_the_indications_source_and_note(status: IndicationStatus) -> None:
    with_note = facts(indication_row=indication(status=status, note="Trial showed harm."))
    reasons, _ = run(with_note)
    assert reasons == [(status.value, "src-guideline")]
    screening = screen(with_note, assess((), CASE), None, CASE, Preferences())
    assert screening.reasons[0].message == "Trial showed harm."
    without_note = screen(
        facts(indication_row=indication(status=status)), assess((), CASE), None, CASE, Preferences()
    )
    assert without_note.reasons[0].message


def test_an_absolute_rule_that_applies_excludes_with_its_own_words() -> None:
    absolute = rule(severity=Severity.ABSOLUTE, code="severe_renal", message="Kidneys fail.")
    therapy_facts = facts(risk_rules=(absolute,))
    screening = screen(therapy_facts, assess((absolute,), CASE), None, CASE, Preferences())
    assert [(r.code, r.message, r.source) for r in screening.reasons] == [
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


def test_an_unknown_cost_is_never_over_budget() -> None:
    assert run(facts(), preferences=Preferences(max_annual_cost=0.0)) == ([], [])


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
