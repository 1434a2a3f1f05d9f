"""Small builders for engine inputs: sensible defaults, override what the test is about."""

from __future__ import annotations

from typing import Any

from scoring.facts import TherapyFacts
from scoring.model import (
    AdverseEffect,
    Availability,
    AvailabilityStatus,
    CareSetting,
    CatalogSnapshot,
    Certainty,
    Comparison,
    Condition,
    Cost,
    CostBasis,
    Indication,
    IndicationStatus,
    Operator,
    PatientAttribute,
    RiskRule,
    Scales,
    Severity,
    Source,
    TherapyProfile,
)

SOURCE = "src-guideline"
LABEL = "src-label"


def scales(**overrides: Any) -> Scales:
    """The value scales of docs/catalog-format.md."""
    values: dict[str, Any] = {
        "status_value": {
            IndicationStatus.FIRST_LINE: 1.0,
            IndicationStatus.MAINTENANCE: 0.9,
            IndicationStatus.SECOND_LINE: 0.7,
            IndicationStatus.REFRACTORY_ONLY: 0.5,
            IndicationStatus.ADJUNCT: 0.4,
            IndicationStatus.EXCEPTIONAL: 0.35,
            IndicationStatus.INVESTIGATIONAL: 0.25,
            IndicationStatus.NOT_RECOMMENDED: 0.0,
            IndicationStatus.HARMFUL: 0.0,
            IndicationStatus.NO_ROLE: 0.0,
        },
        "certainty_factor": {
            Certainty.HIGH: 1.0,
            Certainty.MODERATE: 0.9,
            Certainty.LOW: 0.75,
            Certainty.VERY_LOW: 0.6,
        },
        "serious_per_100_worst": 5.0,
        "common_per_100_worst": 50.0,
        "serious_share": 0.6,
        "hours_per_month_worst": 40.0,
        "needles_per_month_worst": 20.0,
        "needle_share": 0.2,
        "default_travel_hours": 1.0,
        "annual_cost_ceiling": {"USD": 500_000.0, "EUR": 450_000.0},
        "availability_value": {
            AvailabilityStatus.AVAILABLE: 1.0,
            AvailabilityStatus.CONSTRAINED: 0.6,
            AvailabilityStatus.SHORTAGE: 0.25,
            AvailabilityStatus.UNAVAILABLE: 0.0,
        },
        "lead_time_days_worst": 90.0,
        "onset_days_worst": 180.0,
        "urgent_onset_days": 14.0,
        "unknown_value": 0.5,
    }
    values.update(overrides)
    return Scales(**values)


def therapy(therapy_id: str = "ivig", **overrides: Any) -> TherapyProfile:
    values: dict[str, Any] = {
        "id": therapy_id,
        "name": therapy_id.upper(),
        "modality": "immunoglobulin",
        "route": "intravenous",
        "care_settings": frozenset({CareSetting.HOSPITAL, CareSetting.INFUSION_CENTER}),
        "summary": "A test therapy.",
        "source_id": LABEL,
        "hours_per_session": 3.0,
        "sessions_per_month": 1.0,
        "needles_per_session": 1.0,
        "onset_days": 14.0,
    }
    values.update(overrides)
    return TherapyProfile(**values)


def indication(
    therapy_id: str = "ivig", condition_id: str = "cidp", **overrides: Any
) -> Indication:
    values: dict[str, Any] = {
        "therapy_id": therapy_id,
        "condition_id": condition_id,
        "status": IndicationStatus.FIRST_LINE,
        "certainty": Certainty.HIGH,
        "source_id": SOURCE,
    }
    values.update(overrides)
    return Indication(**values)


def cost(therapy_id: str = "ivig", amount: float = 50_000.0, **overrides: Any) -> Cost:
    values: dict[str, Any] = {
        "therapy_id": therapy_id,
        "amount": amount,
        "currency": "USD",
        "basis": CostBasis.PER_YEAR,
        "region": "US",
        "year": 2021,
        "source_id": "src-cost",
    }
    values.update(overrides)
    return Cost(**values)


def availability(
    therapy_id: str = "ivig", status: AvailabilityStatus = AvailabilityStatus.AVAILABLE, **kw: Any
) -> Availability:
    values: dict[str, Any] = {
        "therapy_id": therapy_id,
        "region": "US",
        "status": status,
        "source_id": "src-supply",
    }
    values.update(kw)
    return Availability(**values)


def rule(
    therapy_id: str = "ivig",
    attribute: PatientAttribute = PatientAttribute.EGFR,
    operator: Operator = Operator.LT,
    value: float | bool | str | tuple[str, ...] = 30.0,
    severity: Severity = Severity.RELATIVE,
    **overrides: Any,
) -> RiskRule:
    """A one-comparison rule (pass `when=` for a condition over several facts)."""
    values: dict[str, Any] = {
        "id": f"{therapy_id}-{attribute.value}-{operator.value}-{value}",
        "therapy_id": therapy_id,
        "code": f"{attribute.value}_rule",
        "when": Comparison(attribute, operator, value),
        "severity": severity,
        "message": f"Rule on {attribute.value}.",
        "source_id": "src-rule",
        "safety_penalty": 0.2 if severity is Severity.RELATIVE else 0.0,
    }
    values.update(overrides)
    return RiskRule(**values)


def effect(
    therapy_id: str = "ivig", per_100: float | None = 10.0, *, serious: bool = False, **kw: Any
) -> AdverseEffect:
    values: dict[str, Any] = {
        "therapy_id": therapy_id,
        "name": f"effect {per_100} {serious}",
        "serious": serious,
        "timing": "immediate",
        "source_id": "src-ae",
        "per_100": per_100,
    }
    values.update(kw)
    return AdverseEffect(**values)


def facts(
    therapy_profile: TherapyProfile | None = None,
    indication_row: Indication | None = None,
    **overrides: Any,
) -> TherapyFacts:
    profile = therapy_profile or therapy()
    values: dict[str, Any] = {
        "therapy": profile,
        "indication": indication_row or indication(profile.id),
        "risk_rules": (),
        "adverse_effects": (),
        "cost": None,
        "availability": None,
    }
    values.update(overrides)
    return TherapyFacts(**values)


def snapshot(
    *,
    therapies: tuple[TherapyProfile, ...] = (),
    indications: tuple[Indication, ...] = (),
    costs: tuple[Cost, ...] = (),
    availability_rows: tuple[Availability, ...] = (),
    risk_rules: tuple[RiskRule, ...] = (),
    adverse_effects: tuple[AdverseEffect, ...] = (),
    conditions: tuple[str, ...] = ("cidp", "pi"),
    version: int = 1,
    **scale_overrides: Any,
) -> CatalogSnapshot:
    """A snapshot with a `Source` for every source id its rows cite.

    A therapy given no adverse effects gets a sourced "0 in 100" one, so tests that are not
    about safety are not flagged `safety_data_missing` (no data is not the same as no harm).
    """
    with_effects = {e.therapy_id for e in adverse_effects}
    adverse_effects = (
        *adverse_effects,
        *(
            effect(t.id, 0.0, name="no side effects recorded", source_id=t.source_id)
            for t in therapies
            if t.id not in with_effects
        ),
    )
    cited: set[str] = {SOURCE, LABEL}
    for therapy_row in therapies:
        cited.add(therapy_row.source_id)
        if therapy_row.home_rule_source_id:
            cited.add(therapy_row.home_rule_source_id)
    rows: tuple[Indication | Cost | Availability | RiskRule | AdverseEffect, ...] = (
        *indications,
        *costs,
        *availability_rows,
        *risk_rules,
        *adverse_effects,
    )
    cited.update(row.source_id for row in rows)
    for row_ in indications:
        cited.update(f.source_id for f in row_.figures)
    return CatalogSnapshot(
        version=version,
        therapies=therapies,
        conditions=tuple(Condition(id=c, name=c.upper()) for c in conditions),
        indications=indications,
        costs=costs,
        availability=availability_rows,
        risk_rules=risk_rules,
        adverse_effects=adverse_effects,
        sources={s: Source(id=s, citation=f"Citation of {s}", year=2021) for s in sorted(cited)},
        scales=scales(**scale_overrides),
        risk_factors=frozenset({"thrombosis_history", "iga_deficiency_with_anti_iga"}),
    )


def simple_catalog(*therapy_ids: str, condition_id: str = "cidp") -> CatalogSnapshot:
    """One first-line therapy per id, each with a cost and an available supply in the US."""
    return snapshot(
        therapies=tuple(therapy(t) for t in therapy_ids),
        indications=tuple(indication(t, condition_id) for t in therapy_ids),
        costs=tuple(cost(t) for t in therapy_ids),
        availability_rows=tuple(availability(t) for t in therapy_ids),
    )
