"""One partial value function per criterion: a value in [0, 1] (higher is better) and its reason.

Every function measures a therapy against the fixed clinical ranges in `Scales` (kept in the
catalog, with a source), never against the other options in the request: adding or removing a
therapy cannot change another therapy's values, so it cannot reorder the others under the
weighted sum (see docs/decisions/0002-value-functions.md). Each function also returns plain
explanations, the cautions it raised and the source ids it read, so that every number shown to a
patient can be traced to a citation.

Units: days, hours (one way for travel), sessions and needles a month, money in the cost row's
currency a year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scoring.facts import TherapyFacts
from scoring.model import (
    WEIGHT_BASED_BASES,
    AdverseEffect,
    AvailabilityStatus,
    CareSetting,
    Certainty,
    Cost,
    CostBasis,
    IndicationStatus,
    PatientCase,
    Preferences,
    Reason,
    RiskRule,
    Scales,
    TherapyProfile,
)


@dataclass(frozen=True, slots=True)
class PartialValue:
    """One criterion's value for one therapy, with what it rests on."""

    value: float
    explanation: str
    cautions: tuple[Reason, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AnnualCost:
    """A cost row counted over one year, in the row's currency."""

    amount: float
    currency: str
    explanation: str
    source_id: str


STATUS_WORDS: dict[IndicationStatus, str] = {
    IndicationStatus.FIRST_LINE: "a first-line option",
    IndicationStatus.SECOND_LINE: "a second-line option",
    IndicationStatus.MAINTENANCE: "a maintenance option",
    IndicationStatus.REFRACTORY_ONLY: "an option when other treatments have not worked",
    IndicationStatus.ADJUNCT: "an add-on to other treatment",
    IndicationStatus.EXCEPTIONAL: "an option in exceptional cases",
    IndicationStatus.INVESTIGATIONAL: "investigational",
    IndicationStatus.NOT_RECOMMENDED: "not supported by the guideline",
    IndicationStatus.HARMFUL: "harmful",
    IndicationStatus.NO_ROLE: "without an established role",
}

# A restricted place is worth a caution of its own: a patient reading the ordered list should
# not have to open the efficacy explanation to learn that an option is meant for later.
RESTRICTED_PLACE: dict[IndicationStatus, str] = {
    IndicationStatus.REFRACTORY_ONLY: (
        "Guidelines keep this for when the usual treatments have not worked well enough."
    ),
    IndicationStatus.ADJUNCT: (
        "Guidelines name this as an add-on to another treatment, not as a treatment on its own."
    ),
    IndicationStatus.EXCEPTIONAL: "Guidelines name this only for exceptional cases.",
    IndicationStatus.INVESTIGATIONAL: (
        "This use is still being studied or is off-label. The evidence for it is limited."
    ),
}

CERTAINTY_WORDS: dict[Certainty, str] = {
    Certainty.HIGH: "high",
    Certainty.MODERATE: "moderate",
    Certainty.LOW: "low",
    Certainty.VERY_LOW: "very low",
}


# Cautions for catalog gaps: the value is the scale's middle, and the reader is told why.
SAFETY_DATA_MISSING = Reason(
    "safety_data_missing",
    "The catalog has no side-effect frequencies for this therapy yet, so its safety is shown "
    "as a middle value, not as safe. Ask your care team about its side effects.",
    None,
)
BURDEN_UNKNOWN = Reason(
    "burden_unknown",
    "The catalog does not yet say how often or how long it is given. So its time burden is "
    "shown as a middle value.",
    None,
)


def clamp(x: float, low: float = 0.0, high: float = 1.0) -> float:
    """`x` limited to [low, high]; NaN (a 0/0 in a ratio) counts as `low`."""
    if x != x:  # NaN
        return low
    return low if x < low else high if x > high else x


def number(x: float) -> str:
    """A number as a person reads it: 3, 1.4, 0.25, 12,000 (at most two decimals)."""
    x = float(x) + 0.0  # ints too; and -0.0 reads as 0
    if x.is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def ratio(part: float, worst: float) -> float:
    """`part / worst` clamped to [0, 1]; a non-positive `worst` makes any positive part worst."""
    if worst <= 0:
        return 1.0 if part > 0 else 0.0
    return clamp(part / worst)


# --------------------------------------------------------------------------------------------
# Efficacy
# --------------------------------------------------------------------------------------------


def efficacy(facts: TherapyFacts, scales: Scales) -> PartialValue:
    """Efficacy from where the guideline places the therapy and how sure the evidence is.

    Rule: value = `scales.status_value[status]` x `scales.certainty_factor[certainty]`, both
    read from the therapy's indication for the case's condition (e.g. first-line 1.0 x moderate
    certainty 0.9 = 0.9).

    Inputs: `Indication.status`, `Indication.certainty`, `Indication.source_id`.

    A restricted place (refractory-only, add-on, exceptional, investigational) also adds a
    `place_<status>` caution citing the indication's source.

    Edge cases: a status or certainty the scales do not list gives `scales.unknown_value`
    (the catalog is incomplete; the engine does not guess a place). The engine only calls this
    for therapies with a rankable indication; without one it returns the unknown value.

    Why: a guideline's place for a therapy already weighs trial effect sizes against
    alternatives, and GRADE certainty says how far to trust it; scoring raw effect sizes from
    different trials, outcomes and horizons would compare incomparable numbers.
    """
    indication = facts.indication
    if indication is None:
        return PartialValue(
            scales.unknown_value, "The catalog holds no evidence for this use.", (), ()
        )
    status_value = scales.status_value.get(indication.status)
    factor = scales.certainty_factor.get(indication.certainty)
    place = STATUS_WORDS[indication.status]
    certainty = CERTAINTY_WORDS[indication.certainty]
    if status_value is None or factor is None:
        return PartialValue(
            scales.unknown_value,
            f"The guideline places it as {place} with {certainty}-certainty evidence; the value "
            f"scale has no entry for this, so the middle value {number(scales.unknown_value)} "
            "is used.",
            (),
            (indication.source_id,),
        )
    value = clamp(status_value * factor)
    restricted = RESTRICTED_PLACE.get(indication.status)
    return PartialValue(
        value,
        f"The guideline places it as {place} (scale value {number(status_value)}), with "
        f"{certainty}-certainty evidence (x {number(factor)}).",
        (
            (Reason(f"place_{indication.status.value}", restricted, indication.source_id),)
            if restricted
            else ()
        ),
        (indication.source_id,),
    )


# --------------------------------------------------------------------------------------------
# Safety
# --------------------------------------------------------------------------------------------


def safety(
    adverse_effects: tuple[AdverseEffect, ...],
    cautioning_rules: tuple[RiskRule, ...],
    scales: Scales,
) -> PartialValue:
    """Safety from how often adverse effects happen, lowered by this patient's relative risks.

    Rule: value = 1 - s x clamp(S / S_worst) - (1 - s) x clamp(C / C_worst) - sum of the
    `safety_penalty` of every relative risk rule that applies, clamped to [0, 1], where
    S and C are the summed `per_100` of serious and of non-serious adverse effects,
    S_worst = `scales.serious_per_100_worst`, C_worst = `scales.common_per_100_worst` and
    s = `scales.serious_share` (serious harms count more than common, passing ones).

    Inputs: adverse effects (events per 100 people treated), the relative rules that apply to
    this patient (each adds a caution with its code, message and source).

    Edge cases: an effect with unknown frequency (`per_100` None) is listed in the catalog but
    cannot be counted; the explanation says how many were not counted. A therapy with no
    effect of known frequency has missing data, not an absence of harm: it takes
    `scales.unknown_value` and a `safety_data_missing` caution (watchful waiting records a
    sourced "0 in 100" instead).

    Why: summing per-100 frequencies against a fixed worst level keeps the value independent
    of the other options; patient-specific risks are catalog rules, not code.
    """
    serious = sum(e.per_100 for e in adverse_effects if e.serious and e.per_100 is not None)
    common = sum(e.per_100 for e in adverse_effects if not e.serious and e.per_100 is not None)
    uncounted = sum(1 for e in adverse_effects if e.per_100 is None)
    quantified = len(adverse_effects) - uncounted
    share = clamp(scales.serious_share)
    penalty = sum(max(0.0, rule.safety_penalty) for rule in cautioning_rules)
    cautions = tuple(Reason(rule.code, rule.message, rule.source_id) for rule in cautioning_rules)
    if quantified == 0:
        # No frequency at all is missing data, not an absence of harm: the middle value.
        base = scales.unknown_value
        parts = [
            "The catalog holds no side-effect frequencies for this therapy, so the middle "
            f"value {number(base)} is used."
        ]
        cautions = (SAFETY_DATA_MISSING, *cautions)
    else:
        base = (
            1.0
            - share * ratio(serious, scales.serious_per_100_worst)
            - (1.0 - share) * ratio(common, scales.common_per_100_worst)
        )
        parts = _harm_words(adverse_effects, serious, common, scales)
    value = clamp(base - penalty)
    if cautioning_rules:
        codes = ", ".join(rule.code for rule in cautioning_rules)
        parts.append(f"Lowered by {number(penalty)} for this patient's risks: {codes}.")
    sources = tuple(e.source_id for e in adverse_effects) + tuple(
        rule.source_id for rule in cautioning_rules
    )
    return PartialValue(value, " ".join(parts), cautions, sources)


def _harm_words(
    adverse_effects: tuple[AdverseEffect, ...], serious: float, common: float, scales: Scales
) -> list[str]:
    """The side effects in plain words. A serious harm without a known rate is named, never
    shown as "0 in 100"; a count is only given where rates are known."""
    counted_serious = any(e.serious and e.per_100 is not None for e in adverse_effects)
    unrated_serious = [e.name for e in adverse_effects if e.serious and e.per_100 is None]
    unrated_other = sum(1 for e in adverse_effects if not e.serious and e.per_100 is None)
    parts: list[str] = []
    if counted_serious:
        parts.append(
            f"Serious side effects: about {number(serious)} in 100 in all (the scale's worst "
            f"is {number(scales.serious_per_100_worst)})."
        )
    if unrated_serious:
        parts.append(
            "Serious side effects with no known rate (not counted): "
            + "; ".join(unrated_serious)
            + "."
        )
    if not counted_serious and not unrated_serious:
        parts.append("No serious side effects are listed.")
    parts.append(
        f"Other side effects: about {number(common)} in 100 (the worst is "
        f"{number(scales.common_per_100_worst)})."
    )
    if unrated_other:
        parts.append(f"{unrated_other} other listed effect(s) have no known rate; not counted.")
    return parts


# --------------------------------------------------------------------------------------------
# Convenience
# --------------------------------------------------------------------------------------------


def home_rule_met(therapy: TherapyProfile, case: PatientCase) -> bool:
    """Whether the patient has had the supervised infusions the therapy needs before home use."""
    required = therapy.home_after_supervised
    return required is None or case.prior_supervised_infusions >= required


def at_home_now(therapy: TherapyProfile, case: PatientCase, preferences: Preferences) -> bool:
    """Whether this patient can have the therapy at home from now on.

    True when the therapy is offered at home, the patient accepts home (no stated settings
    means any setting is acceptable) and the therapy's home rule is met (e.g. home infusion
    only after 3 supervised infusions).
    """
    return (
        CareSetting.HOME in therapy.care_settings
        and (not preferences.settings or CareSetting.HOME in preferences.settings)
        and home_rule_met(therapy, case)
    )


def convenience(
    facts: TherapyFacts, case: PatientCase, preferences: Preferences, scales: Scales
) -> PartialValue:
    """Convenience: the time a month the therapy takes, and the needles.

    Rule: hours_month = sessions_per_month x (hours_per_session + travel), where travel is 0
    at home and otherwise a round trip, 2 x (`case.travel_hours` or
    `scales.default_travel_hours`), per session; needles_month = sessions_per_month x
    needles_per_session. value = (1 - n) x (1 - clamp(hours_month / H_worst)) +
    n x (1 - clamp(needles_month / N_worst)), with n = `scales.needle_share`,
    H_worst = `scales.hours_per_month_worst`, N_worst = `scales.needles_per_month_worst`.

    Inputs: sessions a month and hours a session from the indication when it gives them, else
    the therapy's defaults; the therapy's needles a session, care settings and home rule; the
    patient's one-way travel hours, supervised infusions so far and accepted settings.

    Edge cases: "at home" needs all three of home offered, home accepted and the home rule met
    (`at_home_now`); until the rule is met travel is counted. No sessions (observation) is the
    best value, 1.

    Why: the burden patients report is time (infusion chair plus travel) and needles; hours
    a month puts a weekly 1-hour home infusion and a monthly 4-hour clinic infusion on one scale.
    """
    therapy = facts.therapy
    if facts.sessions_per_month is None or facts.hours_per_session is None:
        return PartialValue(
            scales.unknown_value,
            "The catalog does not record how often or how long this therapy is given, so the "
            f"middle value {number(scales.unknown_value)} is used.",
            (BURDEN_UNKNOWN,),
            (therapy.source_id,),
        )
    sessions = max(0.0, facts.sessions_per_month)
    hours = max(0.0, facts.hours_per_session)
    home = at_home_now(therapy, case, preferences)
    one_way = case.travel_hours if case.travel_hours is not None else scales.default_travel_hours
    travel = 0.0 if home else 2.0 * max(0.0, one_way)
    hours_month = sessions * (hours + travel)
    needles = therapy.needles_per_session
    # Needles not recorded: that share of the value takes the middle value.
    needles_month = sessions * max(0.0, needles) if needles is not None else None
    share = clamp(scales.needle_share)
    needle_value = (
        scales.unknown_value
        if needles_month is None
        else 1.0 - ratio(needles_month, scales.needles_per_month_worst)
    )
    value = clamp(
        (1.0 - share) * (1.0 - ratio(hours_month, scales.hours_per_month_worst))
        + share * needle_value
    )
    needles_text = "an unrecorded number of" if needles_month is None else number(needles_month)
    if sessions == 0:
        explanation = "No sessions to attend."
    elif home:
        explanation = (
            f"At home: about {number(sessions)} session(s) a month of {number(hours)} h, so "
            f"about {number(hours_month)} h and {needles_text} needle(s) a month."
        )
    else:
        travel_basis = (
            "this patient's travel time"
            if case.travel_hours is not None
            else "the default travel time"
        )
        explanation = (
            f"At a clinic: about {number(sessions)} session(s) a month of {number(hours)} h plus "
            f"{number(travel)} h round-trip travel ({travel_basis}), so about "
            f"{number(hours_month)} h and {needles_text} needle(s) a month."
        )
        if CareSetting.HOME in therapy.care_settings and not home_rule_met(therapy, case):
            explanation += (
                f" Home use becomes possible after {therapy.home_after_supervised} supervised "
                f"infusions; this patient has had {case.prior_supervised_infusions}."
            )
    sources = [therapy.source_id]
    if facts.indication is not None and (
        facts.indication.sessions_per_month is not None
        or facts.indication.hours_per_session is not None
    ):
        sources.append(facts.indication.source_id)
    if therapy.home_after_supervised is not None and therapy.home_rule_source_id is not None:
        sources.append(therapy.home_rule_source_id)
    return PartialValue(value, explanation, (), tuple(sources))


# --------------------------------------------------------------------------------------------
# Cost
# --------------------------------------------------------------------------------------------


def is_weight_based(facts: TherapyFacts) -> bool:
    """Whether the therapy's cost here is a price per gram or mg of a weight-based dose."""
    return facts.cost is not None and facts.cost.basis in WEIGHT_BASED_BASES


# What one "session" of the catalog is, by the therapy's route: a medicine taken by mouth comes
# in doses. One home for the word, used by the cost criterion's explanation and the option grid.
SESSION_NOUNS = {"oral": "dose"}


def session_noun(route: str) -> str:
    return SESSION_NOUNS.get(route, "session")


def annual_cost(facts: TherapyFacts, weight_kg: float | None = None) -> AnnualCost | None:
    """The therapy's cost over one year, from its cost row for this condition and region.

    Rule: per_year as is; per_month x 12; per_session x sessions a month x 12; per_course x
    the indication's courses a year (1 when not given); one_off as is, i.e. the first year's
    cost (a one-off treatment such as HSCT costs nothing in later years, which a one-year view
    does not show; the explanation says so); per_gram / per_mg: the patient's weight (kg) x
    the indication's `dose_per_kg` (g or mg a session) x the price x sessions a month x 12, so
    a 5.5 kg infant's immunoglobulin costs a fraction of an adult's. `None` when the region
    has no row that applies, and for a weight-based price when the weight, the dose or the
    frequency is unknown (see `cost_needs_weight`).

    The explanation counts sessions a year (`x 14.4 a year`, `x 1 a year`), not a month times
    12: a single yearly dose is 0.08 a month rounded, and "0.08 a month x 12" does not give
    the total it explains.
    """
    row: Cost | None = facts.cost
    if row is None:
        return None
    amount = row.amount
    price = f"{number(amount)} {row.currency}"
    match row.basis:
        case CostBasis.PER_YEAR:
            annual, how = amount, f"{price} a year"
        case CostBasis.PER_MONTH:
            annual, how = amount * 12, f"{price} a month x 12"
        case CostBasis.PER_SESSION:
            if facts.sessions_per_month is None:
                return None  # a per-session price with an unknown frequency has no annual cost
            sessions = max(0.0, facts.sessions_per_month)
            annual = amount * sessions * 12
            noun = session_noun(facts.therapy.route)
            how = f"{price} a {noun} x {number(sessions * 12)} a year"
        case CostBasis.PER_COURSE:
            courses = 1.0
            if facts.indication is not None and facts.indication.courses_per_year is not None:
                courses = facts.indication.courses_per_year
            annual, how = amount * courses, f"{price} a course x {number(courses)} a year"
        case CostBasis.ONE_OFF:
            annual = amount
            how = f"{price} once (counted as the first year's cost; later years cost less)"
        case CostBasis.PER_GRAM | CostBasis.PER_MG:
            dose = facts.indication.dose_per_kg if facts.indication is not None else None
            if dose is None or facts.sessions_per_month is None or weight_kg is None:
                return None
            unit = "g" if row.basis is CostBasis.PER_GRAM else "mg"
            sessions = max(0.0, facts.sessions_per_month)
            annual = max(0.0, weight_kg) * dose * amount * sessions * 12
            how = (
                f"{number(weight_kg)} kg x {number(dose)} {unit} per kg a session x {price} per "
                f"{unit} x {number(sessions * 12)} a year"
            )
    return AnnualCost(
        annual,
        row.currency,
        f"About {number(round(annual))} {row.currency} a year: {how}, {row.region} {row.year}.",
        row.source_id,
    )


def cost_needs_weight(facts: TherapyFacts, scales: Scales) -> PartialValue:
    """Cost when the price follows a weight-based dose but the patient's weight is unknown.

    Rule: the middle value `scales.unknown_value` with a `cost_needs_weight` caution citing
    the price's source; the engine recomputes the cost once the weight is known.

    Why: a per-gram price says nothing about a yearly cost until the dose is known, and the
    dose follows the weight (a 5.5 kg infant needs a tenth of an adult's immunoglobulin).
    """
    source = facts.cost.source_id if facts.cost is not None else None
    return PartialValue(
        scales.unknown_value,
        "The cost depends on body weight, which is not known; the middle value "
        f"{number(scales.unknown_value)} is used.",
        (
            Reason(
                "cost_needs_weight",
                "The cost of this treatment depends on body weight. Add the weight to see the "
                "cost for this person.",
                source,
            ),
        ),
        (source,) if source is not None else (),
    )


def cost(annual: AnnualCost | None, scales: Scales) -> PartialValue:
    """Cost: the annual cost against a fixed ceiling for its currency.

    Rule: value = 1 - clamp(annual cost / `scales.annual_cost_ceiling[currency]`); the annual
    cost comes from `annual_cost` (which explains how each basis is annualised).

    Inputs: the cost row chosen for the therapy in the patient's region (rows for the case's
    condition first, then general rows; latest year; ties to the lowest amount).

    Edge cases: no row for the region, or a currency without a ceiling in the scales, gives
    `scales.unknown_value` and a `cost_unknown` caution; a cost of 0 (observation) is 1.

    Why: a fixed ceiling per currency makes a therapy's cost value the same whatever else is
    in the request; costs are never converted between currencies (no exchange rates in a
    deterministic engine).
    """
    if annual is None:
        return PartialValue(
            scales.unknown_value,
            "The catalog has no cost for this region; the middle value "
            f"{number(scales.unknown_value)} is used.",
            (Reason("cost_unknown", "No cost figure for this region in the catalog.", None),),
            (),
        )
    ceiling = scales.annual_cost_ceiling.get(annual.currency)
    if ceiling is None:
        return PartialValue(
            scales.unknown_value,
            f"{annual.explanation} The value scale has no ceiling for {annual.currency}, so "
            f"the middle value {number(scales.unknown_value)} is used.",
            (
                Reason(
                    "cost_unknown",
                    f"The cost is given in {annual.currency}, which the value scale does not "
                    "cover.",
                    annual.source_id,
                ),
            ),
            (annual.source_id,),
        )
    value = 1.0 - ratio(annual.amount, ceiling)
    return PartialValue(
        value,
        f"{annual.explanation} Scale: 0 {annual.currency} is 1, {number(ceiling)} "
        f"{annual.currency} or more is 0.",
        (),
        (annual.source_id,),
    )


# --------------------------------------------------------------------------------------------
# Availability
# --------------------------------------------------------------------------------------------


def availability(facts: TherapyFacts, region: str, scales: Scales) -> PartialValue:
    """Availability: supply status in the patient's region, lowered by the lead time.

    Rule: value = `scales.availability_value[status]` x (1 - 0.5 x clamp(lead_time_days /
    `scales.lead_time_days_worst`)); the lead time can at most halve the value, because a
    therapy that is available but slow to arrive is still available.

    Inputs: the availability row for (therapy, region): status, lead time in days, source.

    Edge cases: no row gives `scales.unknown_value` and an `availability_unknown` caution; an
    unknown lead time counts as none. `shortage` and `constrained` add a `shortage` or
    `supply_constrained` caution citing the row's source. `unavailable` is excluded before
    scoring (see `scoring.exclusions`).

    Why: shortages of immunoglobulin are real and regional; the patient decides how much that
    weighs.
    """
    row = facts.availability
    if row is None:
        return PartialValue(
            scales.unknown_value,
            f"The catalog has no supply information for {region}; the middle value "
            f"{number(scales.unknown_value)} is used.",
            (
                Reason(
                    "availability_unknown",
                    f"No supply information for {region} in the catalog.",
                    None,
                ),
            ),
            (),
        )
    status_value = scales.availability_value.get(row.status, scales.unknown_value)
    lead = row.lead_time_days
    lead_factor = 1.0 - 0.5 * ratio(lead or 0.0, scales.lead_time_days_worst)
    value = clamp(status_value * lead_factor)
    status_text = row.status.value.replace("_", " ")
    lead_text = (
        f"lead time about {number(lead)} days (x {number(round(lead_factor, 2))})"
        if lead is not None
        else "lead time not recorded"
    )
    as_of = f" as of {row.as_of}" if row.as_of else ""
    cautions: tuple[Reason, ...] = ()
    if row.status is AvailabilityStatus.SHORTAGE:
        cautions = (
            Reason(
                "shortage",
                f"Supply in {region} is reported as a shortage{as_of}.",
                row.source_id,
            ),
        )
    elif row.status is AvailabilityStatus.CONSTRAINED:
        cautions = (
            Reason(
                "supply_constrained",
                f"Supply in {region} is reported as constrained{as_of}.",
                row.source_id,
            ),
        )
    return PartialValue(
        value,
        f"In {region}: {status_text}{as_of} (scale value {number(status_value)}), {lead_text}.",
        cautions,
        (row.source_id,),
    )


# --------------------------------------------------------------------------------------------
# Onset
# --------------------------------------------------------------------------------------------


def onset(facts: TherapyFacts, preferences: Preferences, scales: Scales) -> PartialValue:
    """Speed of onset: days until benefit is usually seen, on a logarithmic scale.

    Rule: value = 1 - ln(1 + d) / ln(1 + `scales.onset_days_worst`), clamped to [0, 1], where d
    is the indication's onset in days, else the therapy's.

    Inputs: `Indication.onset_days` / `TherapyProfile.onset_days`; `Preferences.urgent`.

    Edge cases: unknown onset gives `scales.unknown_value`; d = 0 gives 1, d at or beyond the
    worst gives 0. When the patient says the decision is urgent and d exceeds
    `scales.urgent_onset_days`, a `slow_onset` caution is added.

    Why: the difference between 1 and 14 days matters far more than between 120 and 133; a
    logarithm gives that diminishing sensitivity on a fixed range.
    """
    days = facts.onset_days
    if days is None:
        return PartialValue(
            scales.unknown_value,
            "Time to benefit is not recorded; the middle value "
            f"{number(scales.unknown_value)} is used.",
            (),
            (),
        )
    days = max(0.0, days)
    worst = scales.onset_days_worst
    value = 1.0 - math.log1p(days) / math.log1p(worst) if worst > 0 else 0.0
    value = clamp(value) if days > 0 else 1.0
    source = facts.onset_source_id
    cautions: tuple[Reason, ...] = ()
    if preferences.urgent and days > scales.urgent_onset_days:
        cautions = (
            Reason(
                "slow_onset",
                f"Benefit usually takes about {number(days)} days, longer than the "
                f"{number(scales.urgent_onset_days)} days that count as fast when the need is "
                "urgent.",
                source,
            ),
        )
    return PartialValue(
        value,
        f"Benefit is usually seen after about {number(days)} days (scale: 0 days is 1, "
        f"{number(worst)} days or more is 0, on a logarithmic scale).",
        cautions,
        (source,),
    )
