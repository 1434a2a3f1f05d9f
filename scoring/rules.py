"""The one generic risk-rule evaluator.

Clinical knowledge ("eGFR below 30 -> caution for IVIG") lives in the catalog as `RiskRule`
rows; this module only knows how to compare one patient attribute with one value. Its whole
vocabulary is `PatientAttribute` x `Operator`:

| attribute                                     | operators             | rule value |
| --------------------------------------------- | --------------------- | ---------- |
| age_years, weight_kg, egfr, platelet_count,   | lt, le, gt, ge, eq    | a number   |
| igg_trough                                    |                       |            |
| pregnant                                      | eq                    | a boolean  |
| risk_factor                                   | has                   | a vocabulary id |

An attribute the case does not know (`None`) gives `None`: the engine never guesses. Risk
factors are a set of what is known to be present, so `has` is always decidable.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from scoring.errors import InvalidRule
from scoring.model import Operator, PatientAttribute, PatientCase, RiskRule, Severity

_COMPARE: dict[Operator, Callable[[float, float], bool]] = {
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
    Operator.EQ: operator.eq,
}


def patient_value(case: PatientCase, attribute: PatientAttribute) -> float | bool | None:
    """The case's value for a scalar attribute, `None` when unknown.

    `risk_factor` is not scalar (it is the set `case.risk_factors`); asking for it is an error.
    """
    match attribute:
        case PatientAttribute.AGE_YEARS:
            return case.age_years
        case PatientAttribute.WEIGHT_KG:
            return case.weight_kg
        case PatientAttribute.EGFR:
            return case.egfr
        case PatientAttribute.PREGNANT:
            return case.pregnant
        case PatientAttribute.PLATELET_COUNT:
            return case.platelet_count
        case PatientAttribute.IGG_TROUGH:
            return case.igg_trough
        case PatientAttribute.RISK_FACTOR:
            raise InvalidRule("risk_factor is a set; read it with the `has` operator")


def evaluate(rule: RiskRule, case: PatientCase) -> bool | None:
    """Whether `rule` applies to the patient in `case`; `None` when the attribute is unknown.

    Inputs: the rule's attribute, operator and value (units as in `PatientCase`: eGFR
    mL/min/1.73 m2, platelets x10^9/L, IgG trough mg/dL, age in years, weight in kg).
    The comparison reads "patient <operator> value": `egfr lt 30` applies when eGFR < 30.

    Edge cases: an unknown scalar attribute returns `None` (the caller decides what an unknown
    means for an absolute or a relative rule); `has` never returns `None`. A combination outside
    the table in the module docstring (say `lt` on `pregnant`, or `has` on `egfr`) raises
    `InvalidRule` rather than guessing what the curator meant.
    """
    if rule.attribute is PatientAttribute.RISK_FACTOR:
        if rule.operator is not Operator.HAS or not isinstance(rule.value, str):
            raise InvalidRule(
                f"rule {rule.id}: risk_factor takes the `has` operator and a vocabulary id"
            )
        return rule.value in case.risk_factors
    if rule.operator is Operator.HAS:
        raise InvalidRule(f"rule {rule.id}: `has` applies only to risk_factor")
    observed = patient_value(case, rule.attribute)
    if observed is None:
        return None
    if isinstance(observed, bool) or isinstance(rule.value, bool):
        if rule.operator is not Operator.EQ or not (
            isinstance(observed, bool) and isinstance(rule.value, bool)
        ):
            raise InvalidRule(f"rule {rule.id}: {rule.attribute} is a yes/no fact; use `eq`")
        return observed == rule.value
    if isinstance(rule.value, str):
        raise InvalidRule(f"rule {rule.id}: {rule.attribute} is compared with a number")
    return _COMPARE[rule.operator](observed, rule.value)


def applies_to(rule: RiskRule, *, therapy_id: str, condition_id: str) -> bool:
    """Whether a rule belongs to this therapy and to this condition (or to every condition)."""
    return rule.therapy_id == therapy_id and rule.condition_id in (None, condition_id)


@dataclass(frozen=True, slots=True)
class RuleFindings:
    """What a therapy's risk rules say about one patient.

    `excluding`: absolute rules that apply. `unverified`: absolute rules whose attribute is
    unknown (not an exclusion: the engine never guesses; the caller shows what to check).
    `cautioning`: relative rules that apply (a caution and a safety penalty each).
    `unknown`: every attribute a rule needed but the case did not know.
    """

    excluding: tuple[RiskRule, ...]
    unverified: tuple[RiskRule, ...]
    cautioning: tuple[RiskRule, ...]
    unknown: frozenset[PatientAttribute]


def assess(rules: tuple[RiskRule, ...], case: PatientCase) -> RuleFindings:
    """Evaluate every rule once, keeping the rules' order (the engine passes them sorted by id)."""
    excluding: list[RiskRule] = []
    unverified: list[RiskRule] = []
    cautioning: list[RiskRule] = []
    unknown: set[PatientAttribute] = set()
    for rule in rules:
        applies = evaluate(rule, case)
        if applies is None:
            unknown.add(rule.attribute)
            if rule.severity is Severity.ABSOLUTE:
                unverified.append(rule)
        elif applies:
            (excluding if rule.severity is Severity.ABSOLUTE else cautioning).append(rule)
    return RuleFindings(tuple(excluding), tuple(unverified), tuple(cautioning), frozenset(unknown))
