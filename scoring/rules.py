"""The one rule evaluator: a rule's condition over several patient facts, in three values.

Clinical knowledge ("adult AND platelets below 30 -> no watchful waiting") lives in the catalog as
`RiskRule` rows; this module only knows how to read a condition. A condition is a `Comparison`
or `all` / `any` of conditions (`AllOf`, `AnyOf`); a comparison reads "patient <operator> value":

| attribute                                     | operators             | rule value        |
| --------------------------------------------- | --------------------- | ----------------- |
| age_years, weight_kg, egfr, platelet_count,   | lt, le, gt, ge, eq    | a number          |
| igg_trough                                    |                       |                   |
| pregnant                                      | eq                    | a boolean         |
| phase, antibody_status                        | eq, in                | a word, or words  |
| risk_factor                                   | has                   | a vocabulary id   |

Three values (Kleene): a comparison on a fact the case does not know is *unknown* (`None`);
`all` is false when any term is false, unknown when any is unknown, else true; `any` is true when
any term is true, unknown when any is unknown, else false. The engine never guesses an unknown.
Risk factors are the set known to be present, so `has` is decidable, except for a factor the
vocabulary says the patient's factors neither confirm nor rule out (`hbv_positive` may be
`hbv_active`): then it is unknown and the check to make is the vocabulary's (`hbv_status`).

Each condition is compiled once per snapshot (`compile_rule`) into a closure; a case only runs
the comparisons. The same compiled form answers `evaluate` and the engine, so there is one
implementation of every rule.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from scoring.errors import InvalidRule
from scoring.model import (
    NUMERIC_ATTRIBUTES,
    WORD_ATTRIBUTES,
    AllOf,
    AnyOf,
    Comparison,
    FactorMeaning,
    Operator,
    PatientAttribute,
    PatientCase,
    RiskRule,
    Severity,
    Term,
)

_COMPARE: dict[Operator, Callable[[float, float], bool]] = {
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
    Operator.EQ: operator.eq,
}


@dataclass(frozen=True, slots=True)
class Facts:
    """A case's facts as rules read them: the case, the risk factors it has (with those the
    vocabulary says they imply) and the factors left open, each with the check that settles it.
    Built once per case (`Facts.of`)."""

    case: PatientCase
    factors: frozenset[str]
    open_factors: dict[str, str]  # factor -> the fact to check (e.g. hbv_active -> hbv_status)

    @classmethod
    def of(cls, case: PatientCase, meanings: dict[str, FactorMeaning] | None = None) -> Facts:
        factors = case.risk_factors
        if not meanings or factors.isdisjoint(meanings):
            return cls(case, factors, {})
        implied = set(factors)
        open_factors: dict[str, str] = {}
        for factor in sorted(factors):
            meaning = meanings.get(factor)
            if meaning is None:
                continue
            implied.update(meaning.implies)
            for maybe in meaning.may_be:
                open_factors.setdefault(maybe, meaning.check or maybe)
        for factor in implied:
            open_factors.pop(factor, None)
        return cls(case, frozenset(implied), open_factors)


# A compiled condition: facts -> True / False / None (unknown).
Test = Callable[[Facts], bool | None]


def check_term(term: Term, where: str = "rule") -> None:
    """Refuse a condition the evaluator could never match (e.g. `egfr has 30`), naming `where`."""
    if isinstance(term, AllOf | AnyOf):
        if not term.terms:
            raise InvalidRule(f"{where}: an empty all/any")
        for inner in term.terms:
            check_term(inner, where)
        return
    attribute, op, value = term.attribute, term.operator, term.value
    if attribute is PatientAttribute.RISK_FACTOR:
        if op is not Operator.HAS or not isinstance(value, str):
            raise InvalidRule(f"{where}: risk_factor takes the `has` operator and a vocabulary id")
    elif op is Operator.HAS:
        raise InvalidRule(f"{where}: `has` applies only to risk_factor")
    elif attribute is PatientAttribute.PREGNANT:
        if op is not Operator.EQ or not isinstance(value, bool):
            raise InvalidRule(f"{where}: pregnant is a yes/no fact; use `eq` with true or false")
    elif attribute in WORD_ATTRIBUTES:
        words = (value,) if isinstance(value, str) else value
        if (
            op not in (Operator.EQ, Operator.IN)
            or not isinstance(words, tuple)
            or (op is Operator.EQ and not isinstance(value, str))
            or not words
            or not set(words) <= WORD_ATTRIBUTES[attribute]
        ):
            raise InvalidRule(
                f"{where}: {attribute.value} takes `eq` or `in` with words among "
                + ", ".join(sorted(WORD_ATTRIBUTES[attribute]))
            )
    elif (
        attribute not in NUMERIC_ATTRIBUTES
        or op not in _COMPARE
        or isinstance(value, bool | str | tuple)
    ):
        raise InvalidRule(
            f"{where}: {attribute.value} is compared with a number (lt, le, gt, ge, eq)"
        )


def compile_term(term: Term) -> Test:
    """The condition as a closure over a case's `Facts` (call `check_term` first)."""
    if isinstance(term, AllOf | AnyOf):
        tests = tuple(compile_term(inner) for inner in term.terms)
        # Kleene's `all` and `any` are one loop: the value that settles it at once (false for
        # `all`, true for `any`), unknown if a term was, else the other value.
        settles = isinstance(term, AnyOf)

        def combined(facts: Facts) -> bool | None:
            unknown = False
            for test in tests:
                result = test(facts)
                if result is settles:
                    return settles
                if result is None:
                    unknown = True
            return None if unknown else not settles

        return combined
    return _compile_comparison(term)


def _compile_comparison(term: Comparison) -> Test:
    attribute, value = term.attribute, term.value
    if attribute is PatientAttribute.RISK_FACTOR:
        factor = str(value)

        def has(facts: Facts) -> bool | None:
            if factor in facts.factors:
                return True
            if factor in facts.open_factors:
                return None
            return False

        return has
    name = attribute.value
    if attribute in WORD_ATTRIBUTES:
        words = frozenset((value,) if isinstance(value, str) else value)  # type: ignore[arg-type]

        def word(facts: Facts) -> bool | None:
            observed = getattr(facts.case, name)
            return None if observed is None else observed in words

        return word
    if attribute is PatientAttribute.PREGNANT:

        def yes_no(facts: Facts) -> bool | None:
            observed = facts.case.pregnant
            return None if observed is None else observed == value

        return yes_no
    compare = _COMPARE[term.operator]
    threshold = float(value)  # type: ignore[arg-type]

    def number(facts: Facts) -> bool | None:
        observed = getattr(facts.case, name)
        if observed is None:
            return None
        if isinstance(observed, bool | str):
            raise InvalidRule(f"{name} is compared with a number, but the case holds {observed!r}")
        return compare(observed, threshold)

    return number


def missing(term: Term, facts: Facts) -> tuple[str, ...]:
    """The facts (attribute names, or a vocabulary check such as `hbv_status`) whose absence
    leaves `term` unknown for this case, in the condition's order, without repeats."""
    found: list[str] = []
    _missing(term, facts, found)
    return tuple(dict.fromkeys(found))


def _missing(term: Term, facts: Facts, found: list[str]) -> None:
    if isinstance(term, AllOf | AnyOf):
        for inner in term.terms:
            _missing(inner, facts, found)
        return
    if term.attribute is PatientAttribute.RISK_FACTOR:
        factor = str(term.value)
        if factor not in facts.factors and factor in facts.open_factors:
            found.append(facts.open_factors[factor])
    elif getattr(facts.case, term.attribute.value) is None:
        found.append(term.attribute.value)


def attributes(term: Term) -> frozenset[PatientAttribute]:
    """Every attribute a condition reads."""
    if isinstance(term, AllOf | AnyOf):
        return frozenset().union(*(attributes(inner) for inner in term.terms))
    return frozenset({term.attribute})


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its condition compiled, and whether it excludes or asks when unknown."""

    rule: RiskRule
    position: int  # in the therapy's rules (sorted by id)
    test: Test
    absolute: bool
    asks: bool

    @classmethod
    def of(cls, rule: RiskRule, position: int = 0) -> CompiledRule:
        check_term(rule.when, f"rule {rule.id}")
        return cls(
            rule,
            position,
            compile_term(rule.when),
            rule.severity is Severity.ABSOLUTE,
            rule.asks,
        )


def evaluate(
    rule: RiskRule, case: PatientCase, meanings: dict[str, FactorMeaning] | None = None
) -> bool | None:
    """Whether `rule` applies to the patient in `case`; `None` when a fact it needs is unknown.

    Units as in `PatientCase`: eGFR mL/min/1.73 m2, platelets x10^9/L, IgG trough mg/dL, age in
    years, weight in kg. A condition outside the table in the module docstring raises
    `InvalidRule` rather than guessing what the curator meant.
    """
    return CompiledRule.of(rule).test(Facts.of(case, meanings))


def applies_to(rule: RiskRule, *, therapy_id: str, condition_id: str) -> bool:
    """Whether a rule belongs to this therapy and to this condition (or to every condition)."""
    return rule.therapy_id == therapy_id and rule.condition_id in (None, condition_id)
