"""Applicability, hard constraints and decision points: the reasons a therapy is not ranked.

These are non-compensatory screens (ISPOR MCDA; DESIGN.md "Scoring semantics" 1-2): no score on
another criterion can make up for them. Every reason has a stable machine `code`, plain words and
the id of the source that supports it. The only reason without a source is `no_indication`:
there is nothing to cite for the absence of evidence.

Reasons are collected, not short-circuited, so a therapy excluded for several reasons shows
all of them, always in this order: applicability, absolute risk rules (by rule id), care
setting, budget, regional availability.

The cautions that belong to the screens but do not exclude are built here too: a fact a rule
needs but the case lacks (`needs_check_<fact>`), home care that is not yet possible
(`home_after_supervised_infusions`), a budget that cannot be checked (`budget_unchecked`) and a
place whose prerequisite the unknown history leaves open (`needs_check_prior_treatment`).

This module only words the reasons; `scoring.engine` decides which apply (one implementation).
"""

from __future__ import annotations

from scoring.criteria import AnnualCost, number
from scoring.model import (
    Availability,
    CareSetting,
    Indication,
    IndicationStatus,
    PatientAttribute,
    PriorOutcome,
    Reason,
    Requirement,
    RiskRule,
    TherapyProfile,
)

ATTRIBUTE_WORDS: dict[PatientAttribute, str] = {
    PatientAttribute.AGE_YEARS: "age",
    PatientAttribute.WEIGHT_KG: "body weight",
    PatientAttribute.EGFR: "kidney function (eGFR)",
    PatientAttribute.PREGNANT: "whether the patient is pregnant",
    PatientAttribute.RISK_FACTOR: "risk factors",
    PatientAttribute.PLATELET_COUNT: "platelet count",
    PatientAttribute.IGG_TROUGH: "IgG trough level",
    PatientAttribute.PHASE: "phase of the illness (how long since it was found)",
    PatientAttribute.ANTIBODY_STATUS: "antibody test result",
}
# Facts a rule may ask for that are not attributes: checks named by the risk-factor vocabulary.
CHECK_WORDS: dict[str, str] = {
    "hbv_status": "hepatitis B status (active or past infection)",
}

STATUS_SENTENCES: dict[IndicationStatus, str] = {
    IndicationStatus.NOT_RECOMMENDED: (
        "The guideline finds it does not work for this illness, or advises against it."
    ),
    IndicationStatus.HARMFUL: "The evidence shows it can make this illness worse.",
    IndicationStatus.NO_ROLE: "The source gives it no proven role for this illness.",
}

SETTING_WORDS: dict[CareSetting, str] = {
    CareSetting.HOSPITAL: "hospital",
    CareSetting.INFUSION_CENTER: "infusion centre",
    CareSetting.HOME: "home",
}


def _settings(settings: frozenset[CareSetting]) -> str:
    return ", ".join(SETTING_WORDS[s] for s in sorted(settings))


NO_INDICATION = Reason(
    "no_indication", "The catalog holds no evidence for this therapy in this illness.", None
)


def status_reason(indication: Indication) -> Reason:
    """An excluded status (not_recommended, harmful, no_role): the status as the code, the
    indication's patient-facing message (or a plain sentence), its source."""
    return Reason(
        indication.status.value,
        indication.message or STATUS_SENTENCES[indication.status],
        indication.source_id,
    )


def unavailable_reason(row: Availability) -> Reason:
    as_of = f" as of {row.as_of}" if row.as_of else ""
    return Reason(
        "unavailable_in_region", f"Reported as not available in {row.region}{as_of}.", row.source_id
    )


def care_setting_reason(therapy: TherapyProfile, wanted: frozenset[CareSetting]) -> Reason:
    return Reason(
        "care_setting_unavailable",
        f"Given only in: {_settings(therapy.care_settings)}. The patient accepts: "
        f"{_settings(wanted)}.",
        therapy.source_id,
    )


def over_budget_reason(annual: AnnualCost, limit: float) -> Reason:
    return Reason(
        "over_budget",
        f"About {number(round(annual.amount))} {annual.currency} a year. That is above the "
        f"stated limit of {number(limit)} a year.",
        annual.source_id,
    )


BUDGET_UNCHECKED = Reason(
    "budget_unchecked",
    "The catalog has no cost for it here, so the budget limit could not be checked.",
    None,
)


def home_caution(therapy: TherapyProfile, prior_supervised_infusions: int) -> Reason:
    return Reason(
        "home_after_supervised_infusions",
        f"Home use starts after {therapy.home_after_supervised} supervised infusions in a "
        f"clinic. This patient has had {prior_supervised_infusions}.",
        therapy.home_rule_source_id or therapy.source_id,
    )


def fact_words(fact: str) -> str:
    """A fact a rule reads, in plain words (`platelet_count` -> "platelet count")."""
    if fact in CHECK_WORDS:
        return CHECK_WORDS[fact]
    try:
        return ATTRIBUTE_WORDS[PatientAttribute(fact)]
    except ValueError:
        return fact.replace("_", " ")


def needs_check(fact: str, rule: RiskRule) -> Reason:
    """A fact the rule needs but the case lacks: `needs_check_<fact>`, the rule's own words."""
    return Reason(
        f"needs_check_{fact}",
        f"Not known: {fact_words(fact)}. The answer matters here: {rule.message}",
        rule.source_id,
    )


PRIOR_WORDS: dict[PriorOutcome, tuple[str, str]] = {
    PriorOutcome.INADEQUATE_RESPONSE: (
        "prior_inadequate_response",
        "It was tried before for this illness and did not work well enough.",
    ),
    PriorOutcome.NOT_TOLERATED: (
        "prior_not_tolerated",
        "It was tried before for this illness and the patient could not take it.",
    ),
}


def prior_reason(outcome: PriorOutcome, source_id: str | None) -> Reason:
    """A therapy the stated history says did not work or was not tolerated."""
    code, message = PRIOR_WORDS[outcome]
    return Reason(code, message, source_id)


def _names(therapy_ids: tuple[str, ...], names: dict[str, str]) -> str:
    listed = [names.get(t, t) for t in therapy_ids]
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " or " + listed[-1]


def first_words(indication: Indication, names: dict[str, str]) -> str:
    """What usually comes before this option, in plain words (the place's own message first)."""
    place = indication.place
    if place.message:
        return place.message
    therapies = _names(place.therapies, names)
    match place.requires:
        case Requirement.RESPONSE_TO:
            return f"This is usually given to keep up a good response to {therapies}."
        case Requirement.ADD_ON_TO:
            return f"This is usually added to {therapies}, not given alone."
        case Requirement.INADEQUATE_FIRST_LINE:
            if therapies:
                return (
                    f"This is usually kept for when {therapies} did not work well enough "
                    "or could not be taken."
                )
            return (
                "This is usually kept for when a first treatment did not work well enough or "
                "could not be taken."
            )
        case _:
            return "This is usually given at another point in the illness."


def later_reason(indication: Indication, names: dict[str, str]) -> Reason:
    return Reason(
        "later_decision_point",
        first_words(indication, names),
        indication.place.source_id or indication.source_id,
    )


def phase_reason(indication: Indication) -> Reason:
    phases = " or ".join(p.replace("_", " ") for p in indication.place.phases)
    return Reason(
        "later_decision_point",
        indication.place.message or f"This is usually used when the illness is {phases}.",
        indication.place.source_id or indication.source_id,
    )


def history_check(indication: Indication, names: dict[str, str]) -> Reason:
    """History unknown, or the prerequisite's outcome unknown: the option stays, with this."""
    return Reason(
        "needs_check_prior_treatment",
        "Past treatment for this illness is not known. " + first_words(indication, names),
        indication.place.source_id or indication.source_id,
    )


def phase_check(indication: Indication) -> Reason:
    phases = " or ".join(p.replace("_", " ") for p in indication.place.phases)
    return Reason(
        "needs_check_phase",
        f"The phase of the illness is not known. This is usually used when it is {phases}.",
        indication.place.source_id or indication.source_id,
    )
