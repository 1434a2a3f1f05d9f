"""The engine's fast paths give exactly what the plain code gives.

`rank` keeps per-case work small (see `scoring.engine._Prepared`): it rounds without
`round(x, 6)` where that is provably the same, builds frozen result objects by writing their
slots, and reads risk-factor rules by set membership. Each shortcut is checked here against the
plain code it stands in for.
"""

from __future__ import annotations

import dataclasses
import math
import random

import pytest
from factories import rule, simple_catalog, snapshot

from scoring import engine, rank
from scoring.errors import InvalidRule
from scoring.model import (
    CRITERIA,
    CriterionScore,
    Operator,
    PatientAttribute,
    PatientCase,
    Preferences,
    RankedOption,
    RiskRule,
    Severity,
    WeightRange,
    Weights,
)
from scoring.precision import fixed, fixed_all
from scoring.rules import evaluate
from scoring.weights import DEFAULT_RATINGS


def _plain_fixed(x: float) -> float:
    return round(x, 6) + 0.0


def _numbers() -> list[float]:
    rng = random.Random(7)
    values = [rng.random() for _ in range(20_000)]
    values += [rng.uniform(-1e6, 1e6) for _ in range(5_000)]
    # Exact and near halves of the sixth decimal, where only `round` may decide.
    for k in range(0, 1_000_001, 997):
        for delta in (0.0, 5e-7, -5e-7, 4.9999999e-7, 5.0000001e-7, 1e-17):
            values.append(k / 1e6 + delta)
    values += [0.0, -0.0, -1e-9, 1e-300, 2.5e-6, 3.5e-6, 1e5, 1e11, 1e12, 1e20, -1e20]
    values += [math.inf, -math.inf]
    return values


def test_fixed_is_round_to_six_decimals() -> None:
    for x in _numbers():
        assert repr(fixed(x)) == repr(_plain_fixed(x)), x
    assert math.isnan(fixed(math.nan))


def test_fixed_all_is_fixed_of_each() -> None:
    values = _numbers()
    assert [repr(x) for x in fixed_all(values)] == [repr(_plain_fixed(x)) for x in values]


def test_fast_constructors_build_the_dataclasses() -> None:
    # The slot-writing constructors must track the classes' fields, in order.
    fields = tuple(f.name for f in dataclasses.fields(CriterionScore))
    assert fields == engine.CRITERION_SCORE_FIELDS
    assert tuple(f.name for f in dataclasses.fields(WeightRange)) == engine.WEIGHT_RANGE_FIELDS
    assert tuple(f.name for f in dataclasses.fields(RankedOption)) == engine.RANKED_OPTION_FIELDS
    assert not hasattr(CriterionScore, "__post_init__")
    assert not hasattr(WeightRange, "__post_init__")
    assert not hasattr(RankedOption, "__post_init__")

    built = engine._criterion_score(0.5, 0.25, 0.125, "why")
    assert built == CriterionScore(0.5, 0.25, 0.125, "why")
    assert repr(built) == repr(CriterionScore(0.5, 0.25, 0.125, "why"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.value = 1.0  # type: ignore[misc]
    criterion = CRITERIA[2]
    assert engine._weight_range(criterion, 0.2, None, 0.4) == WeightRange(criterion, 0.2, None, 0.4)
    option = ("ivig", "IVIG", 1, 0.75, {criterion: built}, (), (), ("a",), ())
    assert engine._ranked_option(*option) == RankedOption(*option)


def _three_rules() -> tuple[RiskRule, ...]:
    return (
        rule(
            attribute=PatientAttribute.RISK_FACTOR,
            operator=Operator.HAS,
            value="thrombosis_history",
            id="a-thrombosis",
            code="a_code",
        ),
        rule(attribute=PatientAttribute.EGFR, operator=Operator.LT, value=30.0, id="b-egfr"),
        rule(
            attribute=PatientAttribute.RISK_FACTOR,
            operator=Operator.HAS,
            value="iga_deficiency_with_anti_iga",
            id="c-iga",
            code="c_code",
        ),
    )


def test_risk_factor_and_scalar_rules_keep_the_rule_order() -> None:
    rules = _three_rules()
    base = simple_catalog("ivig")
    catalog = snapshot(
        therapies=base.therapies,
        indications=base.indications,
        costs=base.costs,
        availability_rows=base.availability,
        risk_rules=rules,
    )
    case = PatientCase(
        condition_id="cidp",
        egfr=20.0,
        risk_factors=frozenset({"thrombosis_history", "iga_deficiency_with_anti_iga"}),
    )
    result = rank(catalog, case, Preferences(), Weights(dict(DEFAULT_RATINGS)))
    (option,) = result.ranked
    expected = [r for r in sorted(rules, key=lambda r: r.id) if evaluate(r, case)]
    assert [c.code for c in option.cautions] == [r.code for r in expected]
    assert option.criteria[CRITERIA[1]].explanation.endswith(
        "for this patient's risks: a_code, egfr_rule, c_code."
    )


def test_absolute_rules_of_both_kinds_exclude_in_rule_order() -> None:
    rules = tuple(dataclasses.replace(r, severity=Severity.ABSOLUTE) for r in _three_rules())
    base = simple_catalog("ivig")
    catalog = snapshot(
        therapies=base.therapies,
        indications=base.indications,
        costs=base.costs,
        availability_rows=base.availability,
        risk_rules=rules,
    )
    case = PatientCase(
        condition_id="cidp",
        egfr=20.0,
        risk_factors=frozenset({"thrombosis_history", "iga_deficiency_with_anti_iga"}),
    )
    result = rank(catalog, case, Preferences(), Weights(dict(DEFAULT_RATINGS)))
    (excluded,) = result.excluded
    assert [r.code for r in excluded.reasons] == ["a_code", "egfr_rule", "c_code"]


def test_a_mistyped_patient_fact_still_raises_invalid_rule() -> None:
    base = simple_catalog("ivig")
    catalog = snapshot(
        therapies=base.therapies,
        indications=base.indications,
        costs=base.costs,
        availability_rows=base.availability,
        risk_rules=(rule(attribute=PatientAttribute.EGFR, operator=Operator.LT, value=30.0),),
    )
    case = PatientCase(condition_id="cidp", egfr=True)
    with pytest.raises(InvalidRule):
        rank(catalog, case, Preferences(), Weights(dict(DEFAULT_RATINGS)))
