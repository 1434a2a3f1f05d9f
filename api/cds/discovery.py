"""The CDS Hooks services TADA offers and their prefetch templates.

Templates stay inside the 2.0 "recommended query subset" (reads, type searches, token
parameters, `_sort`, `_count`) and use only `{{context.patientId}}`. One Observation key per
analyte, because `_count` over a comma-OR of codes would return only the newest result across
all of them. The LOINC codes come from the catalog's `observation_codes`, so the templates
change with the catalog, never with the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from api.fhir.codes import FhirCodeLists
from api.fhir.intake import NUMERIC_ATTRIBUTES, PREGNANCY_STATUS
from api.fhir.readers import ANTI_HBC, HBSAG

PATIENT_VIEW = "tada-patient-view"
ORDER_SELECT = "tada-ig-order-select"
ORDER_SIGN = "tada-ig-order-sign"

# Keys without which no card can be right: 412 when neither given nor fetchable.
REQUIRED_KEYS = frozenset({"patient", "conditions"})
OBSERVATION_COUNTS = {"egfr": 5}  # a few eGFR results let the card show the trend


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    id: str
    hook: str
    title: str
    description: str
    orders: bool


SERVICES: dict[str, ServiceSpec] = {
    PATIENT_VIEW: ServiceSpec(
        id=PATIENT_VIEW,
        hook="patient-view",
        title="Treatment alternatives for this patient",
        description=(
            "When the chart of a patient with a condition the TADA catalog covers is opened, "
            "summarises the treatment options ordered by default priorities for this patient's "
            "constraints (kidney function, clot history, age...), with cautions and sources."
        ),
        orders=False,
    ),
    ORDER_SELECT: ServiceSpec(
        id=ORDER_SELECT,
        hook="order-select",
        title="Check an immunoglobulin or other catalogued therapy order",
        description=(
            "When a therapy the TADA catalog knows (e.g. IVIG, SCIG) is selected in a draft "
            "order, says whether it is excluded or carries a caution for this patient, or "
            "whether another option ranks higher, with the reasons and sources."
        ),
        orders=True,
    ),
    ORDER_SIGN: ServiceSpec(
        id=ORDER_SIGN,
        hook="order-sign",
        title="Check an immunoglobulin or other catalogued therapy order before signing",
        description=(
            "Before a draft order for a therapy the TADA catalog knows is signed, says "
            "whether it is excluded or carries a caution for this patient, or whether another "
            "option ranks higher, with the reasons and sources."
        ),
        orders=True,
    ),
}

USAGE = (
    "FHIR R4. Needs read access to Patient, Condition, Observation, AllergyIntolerance, "
    "MedicationRequest, MedicationAdministration and Procedure for the patient in context "
    "(prefetch, paginated or not, or fhirAuthorization). A decision aid: it orders options, it "
    "does not prescribe."
)


def prefetch_templates(codes: FhirCodeLists, *, orders: bool) -> dict[str, str]:
    """The templates for a service (the same object for every call on one catalog version;
    callers must not change it)."""
    key = ("prefetch_templates", orders)
    found: dict[str, str] | None = codes.memo.get(key)
    if found is None:
        found = codes.memo[key] = _templates(codes, orders=orders)
    return found


def _templates(codes: FhirCodeLists, *, orders: bool) -> dict[str, str]:
    patient = "{{context.patientId}}"
    templates = {
        "patient": f"Patient/{patient}",
        "conditions": f"Condition?patient={patient}&clinical-status=active,recurrence,relapse",
        "allergies": f"AllergyIntolerance?patient={patient}&clinical-status=active",
    }
    if not orders:
        templates["medications"] = f"MedicationRequest?patient={patient}&status=active"
    # Treatment history (every service: an order check depends on what was given before).
    # Unfiltered by code on purpose: a medication may be coded in any system the catalog
    # knows, or only through a Medication reference; TADA keeps what its code lists match.
    templates["medication_history"] = (
        f"MedicationRequest?patient={patient}&status=completed,stopped"
    )
    templates["administrations"] = (
        f"MedicationAdministration?patient={patient}&status=completed,in-progress"
    )
    templates["procedures"] = f"Procedure?patient={patient}&status=completed,in-progress"
    for attribute in (*NUMERIC_ATTRIBUTES, PREGNANCY_STATUS, HBSAG, ANTI_HBC):
        spec = codes.observations.get(attribute)
        if spec is None or not spec.codes:
            continue
        code_list = ",".join(f"{system}|{code}" for system, code in sorted(spec.codes))
        count = OBSERVATION_COUNTS.get(attribute, 1)
        templates[attribute] = (
            f"Observation?patient={patient}&code={code_list}&_sort=-date&_count={count}"
        )
    return templates


class CdsServiceOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class DiscoveryOut(BaseModel):
    services: list[CdsServiceOut]


def discovery(codes: FhirCodeLists) -> DiscoveryOut:
    return DiscoveryOut(
        services=[
            CdsServiceOut(
                hook=spec.hook,
                title=spec.title,
                description=spec.description,
                id=spec.id,
                prefetch=prefetch_templates(codes, orders=spec.orders),
                usageRequirements=USAGE,
            )
            for spec in SERVICES.values()
        ]
    )
