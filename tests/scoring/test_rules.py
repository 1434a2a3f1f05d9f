"""The generic risk-rule evaluator: every operator, booleans, risk factors, unknowns."""

from __future__ import annotations

import dataclasses

import pytest
from factories import indication, rule, snapshot, therapy

from scoring import rank
from scoring.errors import InvalidRule
from scoring.model import (
    AllOf,
    AnyOf,
    CatalogSnapshot,
    Comparison,
    FactorMeaning,
    Operator,
    PatientAttribute,
    PatientCase,
    Preferences,
    Severity,
    Term,
    Weights,
)
from scoring.rules import Facts, applies_to, check_term, evaluate
from scoring.weights import DEFAULT_RATINGS

DEFAULT = Weights(dict(DEFAULT_RATINGS))

CASE = PatientCase(
    condition_id="cidp",
    age_years=52,
    weight_kg=80,
    egfr=30,
    pregnant=False,
    risk_factors=frozenset({"thrombosis_history"}),
    platelet_count=25,
    igg_trough=400,
)


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "expected"),
    [
        (PatientAttribute.EGFR, Operator.LT, 30.0, False),
        (PatientAttribute.EGFR, Operator.LT, 30.5, True),
        (PatientAttribute.EGFR, Operator.LE, 30.0, True),
        (PatientAttribute.EGFR, Operator.LE, 29.9, False),
        (PatientAttribute.AGE_YEARS, Operator.GT, 52.0, False),
        (PatientAttribute.AGE_YEARS, Operator.GT, 18.0, True),
        (PatientAttribute.AGE_YEARS, Operator.GE, 52.0, True),
        (PatientAttribute.WEIGHT_KG, Operator.GE, 80.1, False),
        (PatientAttribute.PLATELET_COUNT, Operator.EQ, 25.0, True),
        (PatientAttribute.IGG_TROUGH, Operator.EQ, 401.0, False),
        (PatientAttribute.PREGNANT, Operator.EQ, False, True),
        (PatientAttribute.PREGNANT, Operator.EQ, True, False),
        (PatientAttribute.RISK_FACTOR, Operator.HAS, "thrombosis_history", True),
        (PatientAttribute.RISK_FACTOR, Operator.HAS, "heart_failure", False),
    ],
)
def test_evaluate_compares_patient_with_rule_value(
    attribute: PatientAttribute, operator: Operator, value: float | bool | str, expected: bool
) -> None:
    assert evaluate(rule(attribute=attribute, operator=operator, value=value), CASE) is expected


@pytest.mark.parametrize(
    "attribute",
    [
        PatientAttribute.AGE_YEARS,
        PatientAttribute.WEIGHT_KG,
        PatientAttribute.EGFR,
        PatientAttribute.PLATELET_COUNT,
        PatientAttribute.IGG_TROUGH,
    ],
)
def test_an_unknown_attribute_is_never_guessed(attribute: PatientAttribute) -> None:
    assert evaluate(rule(attribute=attribute), PatientCase(condition_id="cidp")) is None


def test_unknown_pregnancy_is_unknown() -> None:
    unknown = PatientCase(condition_id="cidp")
    assert (
        evaluate(
            rule(attribute=PatientAttribute.PREGNANT, operator=Operator.EQ, value=True), unknown
        )
        is None
    )


def test_no_risk_factors_means_has_is_false() -> None:
    has = rule(attribute=PatientAttribute.RISK_FACTOR, operator=Operator.HAS, value="x")
    assert evaluate(has, PatientCase(condition_id="cidp")) is False


@pytest.mark.parametrize(
    ("attribute", "operator", "value"),
    [
        (PatientAttribute.EGFR, Operator.HAS, 30.0),
        (PatientAttribute.RISK_FACTOR, Operator.EQ, "thrombosis_history"),
        (PatientAttribute.RISK_FACTOR, Operator.HAS, 3.0),
        (PatientAttribute.PREGNANT, Operator.LT, True),
        (PatientAttribute.PREGNANT, Operator.EQ, 1.0),
        (PatientAttribute.EGFR, Operator.EQ, True),
        (PatientAttribute.EGFR, Operator.LT, "thirty"),
    ],
)
def test_a_rule_outside_the_vocabulary_is_an_error(
    attribute: PatientAttribute, operator: Operator, value: float | bool | str
) -> None:
    with pytest.raises(InvalidRule):
        evaluate(rule(attribute=attribute, operator=operator, value=value), CASE)


def test_applies_to_matches_therapy_and_condition() -> None:
    general = rule("ivig")
    specific = rule("ivig", condition_id="pi")
    assert applies_to(general, therapy_id="ivig", condition_id="cidp")
    assert not applies_to(general, therapy_id="scig", condition_id="cidp")
    assert applies_to(specific, therapy_id="ivig", condition_id="pi")
    assert not applies_to(specific, therapy_id="ivig", condition_id="cidp")


# --- Conditions over several facts --------------------------------------------------------

ADULT_LOW_PLATELETS = AllOf(
    (
        Comparison(PatientAttribute.AGE_YEARS, Operator.GE, 18.0),
        Comparison(PatientAttribute.PLATELET_COUNT, Operator.LT, 30.0),
    )
)


def observation_catalog(ask: bool | None = None) -> CatalogSnapshot:
    """ITP-like: watchful waiting with "adult AND platelets below 30" (absolute) and active
    bleeding (absolute), as the seed catalog holds them."""
    return snapshot(
        therapies=(therapy("observation"), therapy("steroids")),
        indications=(indication("observation", "itp"), indication("steroids", "itp")),
        risk_rules=(
            rule(
                "observation",
                id="observation-adult-low-platelets",
                code="low_platelet_count",
                when=ADULT_LOW_PLATELETS,
                severity=Severity.ABSOLUTE,
                ask_if_unknown=ask,
            ),
            rule(
                "observation",
                attribute=PatientAttribute.RISK_FACTOR,
                operator=Operator.HAS,
                value="active_bleeding",
                severity=Severity.ABSOLUTE,
                code="active_bleeding",
            ),
        ),
        conditions=("itp",),
    )


def observation_verdict(catalog: CatalogSnapshot, case: PatientCase) -> tuple[str, set[str]]:
    result = rank(catalog, case, Preferences(), Weights(dict(DEFAULT_RATINGS)))
    for option in result.ranked:
        if option.therapy_id == "observation":
            return "ranked", {c.code for c in option.cautions if c.code.startswith("needs_check")}
    (exclusion,) = [e for e in result.excluded if e.therapy_id == "observation"]
    return "excluded", {r.code for r in exclusion.reasons}


@pytest.mark.parametrize(
    ("age", "platelets", "bleeding", "verdict", "found"),
    [
        (45.0, 8.0, False, "excluded", {"low_platelet_count"}),
        (45.0, 29.9, False, "excluded", {"low_platelet_count"}),
        (45.0, 30.0, False, "ranked", set()),  # the threshold itself: observation is reasonable
        (45.0, 80.0, False, "ranked", set()),
        (18.0, 20.0, False, "excluded", {"low_platelet_count"}),  # adult from 18
        (17.9, 20.0, False, "ranked", set()),  # a child: whatever the count
        (45.0, 80.0, True, "excluded", {"active_bleeding"}),
        (45.0, 8.0, True, "excluded", {"low_platelet_count", "active_bleeding"}),
        # Missing facts: asked for, never guessed.
        (45.0, None, False, "ranked", {"needs_check_platelet_count"}),
        (None, 20.0, False, "ranked", {"needs_check_age_years"}),
        (None, None, False, "ranked", {"needs_check_age_years", "needs_check_platelet_count"}),
        (10.0, None, False, "ranked", set()),  # a child: the count does not matter
        (45.0, None, True, "excluded", {"active_bleeding"}),
    ],
)
def test_a_rule_over_several_facts_on_both_sides_of_each_threshold(
    age: float | None,
    platelets: float | None,
    bleeding: bool,
    verdict: str,
    found: set[str],
) -> None:
    case = PatientCase(
        condition_id="itp",
        age_years=age,
        platelet_count=platelets,
        risk_factors=frozenset({"active_bleeding"} if bleeding else set()),
    )
    assert observation_verdict(observation_catalog(), case) == (verdict, found)


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ((True, True), True),
        ((True, False), True),
        ((False, False), False),
        ((None, False), None),
        ((None, True), True),
    ],
)
def test_any_of_in_three_values(terms: tuple[bool | None, ...], expected: bool | None) -> None:
    def term(value: bool | None, attribute: PatientAttribute) -> Comparison:
        return Comparison(attribute, Operator.EQ, 1.0)

    facts = {True: 1.0, False: 0.0, None: None}
    attributes = (PatientAttribute.EGFR, PatientAttribute.IGG_TROUGH)
    case = PatientCase(
        condition_id="cidp",
        egfr=facts[terms[0]],
        igg_trough=facts[terms[1]],
    )
    condition = AnyOf(tuple(term(v, a) for v, a in zip(terms, attributes, strict=True)))
    assert evaluate(rule(when=condition), case) is expected


@pytest.mark.parametrize(("ask", "checked"), [(None, False), (False, False), (True, True)])
def test_a_relative_rule_asks_for_a_missing_fact_only_when_marked(
    ask: bool | None, checked: bool
) -> None:
    relative = rule(
        attribute=PatientAttribute.PLATELET_COUNT,
        operator=Operator.LT,
        value=50.0,
        ask_if_unknown=ask,
    )
    catalog = snapshot(therapies=(therapy(),), indications=(indication(),), risk_rules=(relative,))
    result = rank(catalog, PatientCase(condition_id="cidp"), Preferences(), DEFAULT)
    (option,) = result.ranked
    assert ("needs_check_platelet_count" in {c.code for c in option.cautions}) is checked
    assert result.unknown == ("platelet_count",)


@pytest.mark.parametrize(
    ("status", "applies"),
    [("musk", True), ("seronegative", True), ("achr", False), (None, None)],
)
def test_word_facts_take_in(status: str | None, applies: bool | None) -> None:
    label = rule(
        attribute=PatientAttribute.ANTIBODY_STATUS,
        operator=Operator.IN,
        value=("musk", "seronegative"),
    )
    case = PatientCase(condition_id="mg", antibody_status=status)
    assert evaluate(label, case) is applies


@pytest.mark.parametrize(
    "term",
    [
        Comparison(PatientAttribute.PHASE, Operator.IN, ("acute",)),
        Comparison(PatientAttribute.ANTIBODY_STATUS, Operator.LT, "musk"),
        Comparison(PatientAttribute.EGFR, Operator.IN, ("musk",)),
        AllOf(()),
    ],
)
def test_a_condition_outside_the_language_is_refused(term: Term) -> None:
    with pytest.raises(InvalidRule):
        check_term(term)


# --- Hepatitis B: active, resolved, and positive without saying which -----------------------

HBV_MEANINGS = {
    "hbv_positive": FactorMeaning(
        implies=("hbv_resolved",), may_be=("hbv_active",), check="hbv_status"
    )
}


def hbv_catalog() -> CatalogSnapshot:
    base = snapshot(
        therapies=(therapy("anti-cd20"),),
        indications=(indication("anti-cd20"),),
        risk_rules=(
            rule(
                "anti-cd20",
                attribute=PatientAttribute.RISK_FACTOR,
                operator=Operator.HAS,
                value="hbv_active",
                severity=Severity.ABSOLUTE,
                code="hbv_active",
            ),
            rule(
                "anti-cd20",
                attribute=PatientAttribute.RISK_FACTOR,
                operator=Operator.HAS,
                value="hbv_resolved",
                code="hbv_reactivation",
            ),
        ),
    )
    return dataclasses.replace(
        base,
        risk_factors=frozenset({"hbv_positive", "hbv_active", "hbv_resolved"}),
        factor_meanings=HBV_MEANINGS,
        prepared={},
    )


@pytest.mark.parametrize(
    ("factors", "verdict", "found"),
    [
        ({"hbv_active"}, "excluded", {"hbv_active"}),
        ({"hbv_resolved"}, "ranked", {"hbv_reactivation"}),
        # Positive, not known which: the resolved rules, and a check for the active one.
        ({"hbv_positive"}, "ranked", {"hbv_reactivation", "needs_check_hbv_status"}),
        ({"hbv_positive", "hbv_active"}, "excluded", {"hbv_active"}),
        ({"hbv_positive", "hbv_resolved"}, "ranked", {"hbv_reactivation"}),
        (set(), "ranked", set()),
    ],
)
def test_hepatitis_b_semantics(factors: set[str], verdict: str, found: set[str]) -> None:
    case = PatientCase(condition_id="cidp", risk_factors=frozenset(factors))
    result = rank(hbv_catalog(), case, Preferences(), DEFAULT)
    if verdict == "excluded":
        (exclusion,) = result.excluded
        assert {r.code for r in exclusion.reasons} == found
    else:
        (option,) = result.ranked
        assert {c.code for c in option.cautions} & (found | {"hbv_active"}) == found


def test_hbv_positive_never_excludes_by_itself() -> None:
    case = PatientCase(condition_id="cidp", risk_factors=frozenset({"hbv_positive"}))
    assert rank(hbv_catalog(), case, Preferences(), DEFAULT).excluded == ()
    facts = Facts.of(case, HBV_MEANINGS)
    assert facts.factors == {"hbv_positive", "hbv_resolved"}
    assert facts.open_factors == {"hbv_active": "hbv_status"}
