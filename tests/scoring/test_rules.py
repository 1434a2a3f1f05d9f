"""The generic risk-rule evaluator: every operator, booleans, risk factors, unknowns."""

from __future__ import annotations

import pytest
from factories import rule

from scoring.errors import InvalidRule
from scoring.model import Operator, PatientAttribute, PatientCase
from scoring.rules import applies_to, evaluate

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
