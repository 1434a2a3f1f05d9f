"""`rank`: the whole pipeline on small catalogs."""

from __future__ import annotations

import pytest
from factories import (
    availability,
    cost,
    effect,
    indication,
    rule,
    simple_catalog,
    snapshot,
    therapy,
)

from scoring import rank
from scoring.errors import UnknownCondition
from scoring.model import (
    CRITERIA,
    AvailabilityStatus,
    CareSetting,
    Criterion,
    IndicationStatus,
    Method,
    Operator,
    OutcomeFigure,
    PatientAttribute,
    PatientCase,
    Preferences,
    Severity,
    Weights,
)
from scoring.weights import DEFAULT_RATINGS

DEFAULT = Weights(dict(DEFAULT_RATINGS))
CASE = PatientCase(condition_id="cidp")

CATALOG = snapshot(
    therapies=(
        therapy(
            "ivig",
            care_settings=frozenset({CareSetting.HOSPITAL, CareSetting.HOME}),
            home_after_supervised=3,
        ),
        therapy(
            "scig",
            care_settings=frozenset({CareSetting.HOME}),
            sessions_per_month=4.0,
            hours_per_session=1.0,
            needles_per_session=2.0,
            onset_days=60.0,
        ),
        therapy(
            "plasma-exchange",
            care_settings=frozenset({CareSetting.HOSPITAL}),
            sessions_per_month=5.0,
            onset_days=7.0,
        ),
        therapy("steroids", care_settings=frozenset({CareSetting.HOME}), sessions_per_month=0.0),
        therapy("hsct", care_settings=frozenset({CareSetting.HOSPITAL})),
    ),
    indications=(
        indication(
            "ivig",
            figures=(
                OutcomeFigure(
                    id="ivig-cidp-ice",
                    measure="had less disability",
                    population="adults with CIDP",
                    time_frame="24 weeks",
                    events=54,
                    per=100,
                    comparator="placebo",
                    comparator_events=21,
                    source_id="ice-trial",
                ),
            ),
        ),
        indication("scig", status=IndicationStatus.MAINTENANCE),
        indication("plasma-exchange", status=IndicationStatus.SECOND_LINE),
        indication("steroids", status=IndicationStatus.HARMFUL, source_id="src-harm"),
    ),
    costs=(cost("ivig", 60_000.0), cost("scig", 70_000.0), cost("plasma-exchange", 40_000.0)),
    availability_rows=(
        availability("ivig", AvailabilityStatus.CONSTRAINED, lead_time_days=7.0),
        availability("scig"),
        availability("plasma-exchange"),
    ),
    risk_rules=(
        rule("ivig", code="renal_impairment", safety_penalty=0.3),
        rule(
            "ivig",
            PatientAttribute.RISK_FACTOR,
            Operator.HAS,
            "thrombosis_history",
            code="thrombosis_risk",
            safety_penalty=0.2,
        ),
        rule(
            "ivig",
            PatientAttribute.RISK_FACTOR,
            Operator.HAS,
            "iga_deficiency_with_anti_iga",
            Severity.ABSOLUTE,
            code="anti_iga",
        ),
        rule(
            "plasma-exchange",
            PatientAttribute.PREGNANT,
            Operator.EQ,
            True,
            Severity.ABSOLUTE,
            code="pregnancy",
        ),
    ),
    adverse_effects=(effect("ivig", 10.0), effect("ivig", 0.5, serious=True), effect("scig", 30.0)),
)


def ids(result: object) -> list[str]:
    return [o.therapy_id for o in result.ranked]  # type: ignore[attr-defined]


def test_a_default_case_ranks_the_applicable_therapies() -> None:
    result = rank(CATALOG, CASE, Preferences(), DEFAULT)
    assert result.catalog_version == 1
    assert result.method is Method.WEIGHTED_SUM
    assert result.condition_id == "cidp"
    assert sorted(ids(result)) == ["ivig", "plasma-exchange", "scig"]
    assert [o.rank for o in result.ranked] == [1, 2, 3]
    excluded = {e.therapy_id: [r.code for r in e.reasons] for e in result.excluded}
    # Steroids are named for CIDP but harmful: listed. HSCT has no CIDP indication at all:
    # counted, not listed, so an answer does not grow with the whole catalog.
    assert excluded == {"steroids": ["harmful"]}
    assert result.not_indicated_count == 1
    assert list(result.weights) == list(CRITERIA)
    assert result.stability.top_therapy_id == result.ranked[0].therapy_id
    # Plasma exchange's absolute pregnancy rule on an unknown attribute: ask, don't exclude.
    plex = next(o for o in result.ranked if o.therapy_id == "plasma-exchange")
    assert "needs_check_pregnant" in [c.code for c in plex.cautions]
    assert result.unknown == ("egfr", "pregnant")


def test_criteria_contributions_add_up_to_the_weighted_sum_score() -> None:
    result = rank(CATALOG, CASE, Preferences(), DEFAULT)
    for option in result.ranked:
        assert list(option.criteria) == list(CRITERIA)
        total = sum(c.contribution for c in option.criteria.values())
        assert total == pytest.approx(option.score, abs=1e-5)
        for part in option.criteria.values():
            assert part.contribution == pytest.approx(part.value * part.weight, abs=1e-6)
            assert part.explanation


def test_topsis_contributions_are_explained_as_not_adding_up() -> None:
    result = rank(CATALOG, CASE, Preferences(), DEFAULT, method=Method.TOPSIS)
    assert result.method is Method.TOPSIS
    option = result.ranked[0]
    assert all("do not add up" in c.explanation for c in option.criteria.values())
    assert 0 <= option.score <= 1


def test_evidence_outcomes_and_cautions_of_one_option() -> None:
    case = PatientCase(
        condition_id="cidp", egfr=20, pregnant=False, risk_factors=frozenset({"thrombosis_history"})
    )
    result = rank(CATALOG, case, Preferences(settings=frozenset({CareSetting.HOME})), DEFAULT)
    ivig = next(o for o in result.ranked if o.therapy_id == "ivig")
    assert [c.code for c in ivig.cautions] == [
        "home_after_supervised_infusions",
        "renal_impairment",
        "thrombosis_risk",
        "supply_constrained",
    ]
    assert [e.source_id for e in ivig.evidence] == sorted(
        {"src-label", "src-guideline", "ice-trial", "src-cost", "src-supply", "src-rule", "src-ae"}
    )
    assert all(e.citation.startswith("Citation of") for e in ivig.evidence)
    assert ivig.outcomes == (
        "About 54 in 100 people had less disability after 24 weeks, "
        "against about 21 in 100 with placebo. Who: adults with CIDP.",
    )
    (figure,) = ivig.outcome_figures
    assert (figure.id, figure.events, figure.per, figure.comparator_events) == (
        "ivig-cidp-ice",
        54,
        100,
        21,
    )
    assert result.unknown == ()
    excluded = {e.therapy_id: [r.code for r in e.reasons] for e in result.excluded}
    assert excluded["plasma-exchange"] == ["care_setting_unavailable"]


def test_an_absolute_rule_excludes_and_is_not_ranked() -> None:
    case = PatientCase(
        condition_id="cidp", risk_factors=frozenset({"iga_deficiency_with_anti_iga"})
    )
    result = rank(CATALOG, case, Preferences(), DEFAULT)
    assert "ivig" not in ids(result)
    reasons = next(e.reasons for e in result.excluded if e.therapy_id == "ivig")
    assert [(r.code, r.source) for r in reasons] == [("anti_iga", "src-rule")]


def test_cautions_are_deduplicated_by_code() -> None:
    catalog = snapshot(
        therapies=(therapy("ivig"),),
        indications=(indication("ivig"),),
        risk_rules=(
            rule("ivig", PatientAttribute.EGFR, Operator.LT, 30.0, code="renal", id="r1"),
            rule("ivig", PatientAttribute.EGFR, Operator.LT, 60.0, code="renal", id="r2"),
        ),
    )
    result = rank(catalog, PatientCase(condition_id="cidp", egfr=20), Preferences(), DEFAULT)
    codes = [c.code for c in result.ranked[0].cautions]
    assert codes.count("renal") == 1
    assert result.ranked[0].criteria[Criterion.SAFETY].value == pytest.approx(0.6)


def test_a_condition_specific_rule_applies_only_to_its_condition() -> None:
    catalog = snapshot(
        therapies=(therapy("ivig"),),
        indications=(indication("ivig", "cidp"), indication("ivig", "pi")),
        risk_rules=(rule("ivig", code="pi_only", condition_id="pi"),),
    )
    case = PatientCase(condition_id="cidp", egfr=10)
    cidp = rank(catalog, case, Preferences(), DEFAULT).ranked[0]
    pi = rank(catalog, PatientCase(condition_id="pi", egfr=10), Preferences(), DEFAULT).ranked[0]
    assert "pi_only" not in [c.code for c in cidp.cautions]
    assert "pi_only" in [c.code for c in pi.cautions]


def test_an_unknown_condition_is_an_error() -> None:
    with pytest.raises(UnknownCondition):
        rank(CATALOG, PatientCase(condition_id="gout"), Preferences(), DEFAULT)


def test_equal_scores_are_ordered_by_therapy_id() -> None:
    result = rank(simple_catalog("c", "a", "b"), CASE, Preferences(), DEFAULT)
    assert ids(result) == ["a", "b", "c"]
    assert len({o.score for o in result.ranked}) == 1
    assert result.stability.margin == 0.0


def test_nothing_ranked_when_everything_is_excluded() -> None:
    result = rank(CATALOG, PatientCase(condition_id="pi"), Preferences(), DEFAULT)
    assert result.ranked == ()
    assert result.stability.top_therapy_id is None
    assert result.stability.margin is None
    # No therapy is named for PI: none is listed, every one is counted.
    assert result.excluded == ()
    assert result.not_indicated_count == len(CATALOG.therapies)


def test_a_new_snapshot_object_is_read_afresh() -> None:
    first = simple_catalog("a", "b")
    rank(first, CASE, Preferences(), DEFAULT)
    second = simple_catalog("a", "b", "c")
    assert ids(rank(second, CASE, Preferences(), DEFAULT)) == ["a", "b", "c"]
    for _ in range(10):  # more snapshots than the memo keeps
        assert len(rank(simple_catalog("a"), CASE, Preferences(), DEFAULT).ranked) == 1


def test_an_unknown_region_uses_the_unknown_values() -> None:
    result = rank(simple_catalog("a"), CASE, Preferences(region="ZZ"), DEFAULT)
    option = result.ranked[0]
    assert option.criteria[Criterion.COST].value == 0.5
    assert option.criteria[Criterion.AVAILABILITY].value == 0.5
    assert [c.code for c in option.cautions] == ["cost_unknown", "availability_unknown"]


def test_no_advice_words_in_any_generated_text() -> None:
    case = PatientCase(condition_id="cidp", egfr=20, risk_factors=frozenset({"thrombosis_history"}))
    for method in Method:
        result = rank(
            CATALOG,
            case,
            Preferences(urgent=True, max_annual_cost=65_000.0),
            DEFAULT,
            method=method,
        )
        text = repr(result).lower()
        for word in ("recommend", "should", "best for you", "best option", "best choice"):
            assert word not in text
