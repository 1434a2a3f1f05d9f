"""What TADA understood from a patient's FHIR data: the derived case and its parts."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from scoring.model import PatientCase, PriorTreatment


class DerivedValue(BaseModel):
    value: float
    unit: str | None
    date: str | None = Field(description="When it was measured (effective date), ISO 8601")
    source: str = Field(description="The resource it came from, e.g. Observation/egfr-3")
    code: str = Field(description="system|code of the observation")
    note: str | None = Field(
        default=None, description="How the value was read, e.g. a unit used without normalising"
    )


class DerivedCondition(BaseModel):
    condition_id: str
    coding: str = Field(description="system|code as recorded")
    matched: str = Field(
        description="The catalog code it matched (an ICD-10-CM ancestor or itself)"
    )
    source: str


class DerivedRiskFactor(BaseModel):
    risk_factor: str
    coding: str
    source: str


class DerivedOrder(BaseModel):
    therapy_id: str
    coding: str
    status: str
    intent: str | None = Field(default=None, description="The order's intent, when recorded")
    source: str = Field(description="The order: Type/id, its fullUrl, or where it was found")
    resource_id: str | None = Field(
        default=None, description="`MedicationRequest/<id>` when the order has an id"
    )
    reason_condition_ids: list[str] = []


class DerivedPriorTreatment(BaseModel):
    """A catalog therapy the record shows as given (or being given); the response is not
    read from the record, so the engine gets it as "given, response unknown"."""

    therapy_id: str
    ongoing: bool = False
    coding: str
    source: str
    reason_condition_ids: list[str] = Field(
        default=[],
        description="Catalog conditions the record gives as the reason; empty: not recorded "
        "(then it counts for every condition)",
    )


class DerivedCase(BaseModel):
    """What TADA understood from the FHIR data, so the caller can check it."""

    as_of: date
    patient: str | None = None
    birth_date: str | None = None
    age_years: float | None = None
    conditions: list[DerivedCondition] = []
    condition_id: str | None = Field(
        default=None, description="The condition the result is for (one of `conditions`)"
    )
    egfr: DerivedValue | None = None
    egfr_history: list[DerivedValue] = Field(
        default=[], description="Earlier eGFR results, newest first"
    )
    platelet_count: DerivedValue | None = None
    igg_trough: DerivedValue | None = None
    weight_kg: DerivedValue | None = None
    pregnant: bool | None = None
    pregnancy_source: str | None = None
    risk_factors: list[DerivedRiskFactor] = []
    hbv_status: str | None = Field(
        default=None,
        description="Hepatitis B: active, resolved, past_or_present (not known which) or none "
        "(HBsAg and anti-HBc negative); null when the record does not establish it",
    )
    orders: list[DerivedOrder] = []
    prior_treatments: list[DerivedPriorTreatment] | None = Field(
        default=None,
        description="Catalog therapies the record shows as given; null when the record shows "
        "none (no record is not proof of none)",
    )
    unknown: list[str] = Field(
        default=[], description="Patient facts the FHIR data did not establish (never guessed)"
    )
    notes: list[str] = Field(default=[], description="Why a fact is unknown or was set aside")
    skipped: list[str] = Field(
        default=[], description="Resources that could not be read (lenient mode only)"
    )
    set_aside: list[str] = Field(
        default=[],
        description="Elements TADA does not use that failed validation and were set aside "
        "while the rest of the resource was read (lenient mode only)",
    )

    def patient_fields(self, condition_id: str | None = None) -> dict[str, Any]:
        """The patient facts as `/v1/score` request fields (unknown ones left out), for
        `condition_id` (default: the derived condition)."""
        chosen = condition_id or self.condition_id
        history = [
            p
            for p in self.prior_treatments or ()
            if not p.reason_condition_ids or chosen in p.reason_condition_ids
        ]
        values: dict[str, Any] = {
            "age_years": self.age_years,
            "weight_kg": self.weight_kg.value if self.weight_kg else None,
            "egfr": self.egfr.value if self.egfr else None,
            "pregnant": self.pregnant,
            "risk_factors": sorted({r.risk_factor for r in self.risk_factors}),
            "platelet_count": self.platelet_count.value if self.platelet_count else None,
            "igg_trough": self.igg_trough.value if self.igg_trough else None,
        }
        if history:  # never []: no record of a treatment is not proof of none
            values["prior_treatments"] = _prior_treatment_entries(history)
        return {k: v for k, v in values.items() if v is not None}

    def patient_case(self, condition_id: str | None = None) -> PatientCase:
        chosen = condition_id or self.condition_id
        if chosen is None:
            raise ValueError("no condition")
        facts = self.patient_fields(chosen)
        facts["risk_factors"] = frozenset(facts.get("risk_factors", ()))
        if "prior_treatments" in facts:
            facts["prior_treatments"] = tuple(
                PriorTreatment(p["therapy_id"], None, p.get("ongoing", False))
                for p in facts["prior_treatments"]
            )
        return PatientCase(condition_id=chosen, **facts)


def _prior_treatment_entries(found: list[DerivedPriorTreatment]) -> list[dict[str, Any]]:
    """One request entry per therapy, outcome omitted (given, response unknown); ongoing when
    any record of it is current."""
    merged: dict[str, bool] = {}
    for item in found:
        merged[item.therapy_id] = merged.get(item.therapy_id, False) or item.ongoing
    return [
        {"therapy_id": t, **({"ongoing": True} if ongoing else {})}
        for t, ongoing in sorted(merged.items())
    ]
