"""Applicability and hard constraints: which therapies are not ranked for this patient, and why.

These are non-compensatory screens (ISPOR MCDA; DESIGN.md "Scoring semantics" 1-2): no score on
another criterion can make up for them. Every reason has a stable machine `code`, plain words and
the id of the source that supports it. The only reason without a source is `no_indication`:
there is nothing to cite for the absence of evidence.

Reasons are collected, not short-circuited, so a therapy excluded for several reasons shows
all of them, always in this order: applicability, absolute risk rules (by rule id), care
setting, budget, regional availability.

The same pass returns the cautions that belong to the screens but do not exclude: an absolute
rule whose attribute is unknown (`needs_check_<attribute>`) and home care that is not yet
possible (`home_after_supervised_infusions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.criteria import AnnualCost, home_rule_met, number
from scoring.facts import TherapyFacts
from scoring.model import (
    EXCLUDED_STATUSES,
    AvailabilityStatus,
    CareSetting,
    IndicationStatus,
    PatientAttribute,
    PatientCase,
    Preferences,
    Reason,
)
from scoring.rules import RuleFindings

ATTRIBUTE_WORDS: dict[PatientAttribute, str] = {
    PatientAttribute.AGE_YEARS: "age (years)",
    PatientAttribute.WEIGHT_KG: "body weight (kg)",
    PatientAttribute.EGFR: "kidney function (eGFR, mL/min/1.73 m2)",
    PatientAttribute.PREGNANT: "whether the patient is pregnant",
    PatientAttribute.RISK_FACTOR: "risk factors",
    PatientAttribute.PLATELET_COUNT: "platelet count (x10^9/L)",
    PatientAttribute.IGG_TROUGH: "IgG trough level (mg/dL)",
}

STATUS_SENTENCES: dict[IndicationStatus, str] = {
    IndicationStatus.NOT_RECOMMENDED: (
        "The cited guideline finds this therapy ineffective for this condition or advises "
        "against its use."
    ),
    IndicationStatus.HARMFUL: "The cited evidence shows this therapy can worsen this condition.",
    IndicationStatus.NO_ROLE: (
        "The cited source gives this therapy no established role for this condition."
    ),
}

SETTING_WORDS: dict[CareSetting, str] = {
    CareSetting.HOSPITAL: "hospital",
    CareSetting.INFUSION_CENTER: "infusion centre",
    CareSetting.HOME: "home",
}


@dataclass(frozen=True, slots=True)
class Screening:
    """The outcome of the screens for one therapy: reasons to exclude, and cautions."""

    reasons: tuple[Reason, ...]
    cautions: tuple[Reason, ...]

    @property
    def excluded(self) -> bool:
        return bool(self.reasons)


def _settings(settings: frozenset[CareSetting]) -> str:
    return ", ".join(SETTING_WORDS[s] for s in sorted(settings))


def screen(
    facts: TherapyFacts,
    findings: RuleFindings,
    annual: AnnualCost | None,
    case: PatientCase,
    preferences: Preferences,
) -> Screening:
    """Screen one therapy for one patient.

    Rules, each giving one reason (code):
    - no indication row for the condition: `no_indication` (source None);
    - indication status not_recommended / harmful / no_role: that status as the code, the
      indication's note (or a plain sentence) as the message, its source;
    - each absolute risk rule that applies: the rule's own code, message and source;
    - stated care settings that share nothing with the therapy's: `care_setting_unavailable`
      (a therapy that needs no care setting at all, e.g. observation, never fails this);
    - known annual cost above `Preferences.max_annual_cost` (same currency as the region's
      cost row): `over_budget`;
    - supply status `unavailable` in the region: `unavailable_in_region`.

    Cautions (never exclusions): an absolute rule whose attribute is unknown gives
    `needs_check_<attribute>` (what to check, and the rule's source); a therapy the patient
    could only have at home, before its home rule is met, gives
    `home_after_supervised_infusions`.
    """
    therapy = facts.therapy
    reasons: list[Reason] = []
    cautions: list[Reason] = []

    indication = facts.indication
    if indication is None:
        reasons.append(
            Reason(
                "no_indication",
                "The catalog holds no evidence for this therapy in this condition.",
                None,
            )
        )
    elif indication.status in EXCLUDED_STATUSES:
        reasons.append(
            Reason(
                indication.status.value,
                indication.note or STATUS_SENTENCES[indication.status],
                indication.source_id,
            )
        )

    reasons.extend(Reason(rule.code, rule.message, rule.source_id) for rule in findings.excluding)
    for rule in findings.unverified:
        cautions.append(
            Reason(
                f"needs_check_{rule.attribute.value}",
                f"Not known for this patient: {ATTRIBUTE_WORDS[rule.attribute]}. "
                f"A contraindication for this therapy depends on it: {rule.message}",
                rule.source_id,
            )
        )

    wanted = preferences.settings
    offered = therapy.care_settings
    if wanted and offered:
        shared = wanted & offered
        if not shared:
            reasons.append(
                Reason(
                    "care_setting_unavailable",
                    f"Given only in: {_settings(offered)}; the patient accepts: "
                    f"{_settings(wanted)}.",
                    therapy.source_id,
                )
            )
        elif shared == {CareSetting.HOME} and not home_rule_met(therapy, case):
            cautions.append(
                Reason(
                    "home_after_supervised_infusions",
                    f"Home use starts after {therapy.home_after_supervised} supervised infusions "
                    f"in a clinic; this patient has had {case.prior_supervised_infusions}.",
                    therapy.home_rule_source_id or therapy.source_id,
                )
            )

    limit = preferences.max_annual_cost
    if annual is not None and limit is not None and annual.amount > limit:
        reasons.append(
            Reason(
                "over_budget",
                f"About {number(round(annual.amount))} {annual.currency} a year, above the "
                f"stated limit of {number(limit)} a year.",
                annual.source_id,
            )
        )

    row = facts.availability
    if row is not None and row.status is AvailabilityStatus.UNAVAILABLE:
        as_of = f" as of {row.as_of}" if row.as_of else ""
        reasons.append(
            Reason(
                "unavailable_in_region",
                f"Reported as not available in {row.region}{as_of}.",
                row.source_id,
            )
        )
    return Screening(tuple(reasons), tuple(cautions))
