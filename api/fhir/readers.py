"""One reader per FHIR resource type, all writing into one accumulator.

Readers work on the resource's JSON after it was validated with `fhir.resources.R4B` (see
`api.fhir.intake`): validation is the gate, the JSON is what is read. In lenient mode an element
a reader does not need that failed validation has already been removed (and reported), so a
reader never sees an invalid element. Nothing here knows a clinical code: every code is looked
up in the catalog's code lists (`FhirCodeLists`).

Each reader declares the elements it cannot do without (`NEEDED`); the selection predicate
(`relevant`) decides on the raw JSON, before any validation, whether a resource can matter at
all, so intake cost follows what matters, not the size of the record.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from api.fhir.codes import FhirCodeLists
from api.fhir.derived import (
    DerivedCase,
    DerivedCondition,
    DerivedOrder,
    DerivedPriorTreatment,
    DerivedRiskFactor,
    DerivedValue,
)
from api.fhir.references import ReferenceIndex
from api.fhir.units import convert

# FHIR status vocabularies (FHIR semantics, not clinical knowledge).
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
# Only confirmed conditions count; a missing verificationStatus is read as the record's
# assertion (R4 makes the element optional and most problem lists omit it).
CONFIRMED = frozenset({"confirmed"})
ALLERGY_REFUTED = frozenset({"refuted", "entered-in-error", "unconfirmed"})
OBSERVATION_USABLE = frozenset({"final", "amended", "corrected"})
ORDER_CURRENT = frozenset({"active", "draft", "on-hold"})
# History: what the record shows as given. An active order is being given (ongoing); a
# completed or stopped one was given before. Drafts, cancelled and entered-in-error orders
# are not history.
ORDER_HISTORY = {"active": True, "on-hold": True, "completed": False, "stopped": False}
ADMINISTRATION_HISTORY = {"in-progress": True, "on-hold": True, "completed": False}
STATEMENT_HISTORY = {"active": True, "on-hold": True, "completed": False, "stopped": False}
PROCEDURE_HISTORY = {"in-progress": True, "on-hold": True, "completed": False}

UCUM = "http://unitsofmeasure.org"
# Attributes of `observation_codes` that become numeric PatientCase fields.
NUMERIC_ATTRIBUTES = ("egfr", "platelet_count", "igg_trough", "weight_kg")
PREGNANCY_STATUS = "pregnancy"
PREGNANT_VALUES = "pregnant"
NOT_PREGNANT_VALUES = "not_pregnant"
# Hepatitis B serology. The tests (`hbsag`, `anti_hbc`) and the result values that mean
# positive or negative (`result_positive`, `result_negative`) are catalog code lists. What a
# pair of results means is the contract's own definition of the risk factors (DESIGN.md,
# "Risk factors"): hbv_active is HBsAg positive; hbv_resolved is HBsAg negative with anti-HBc
# positive; hbv_positive is infection now or in the past, not known which (anti-HBc positive,
# HBsAg not known). Any other combination derives no factor; a missing or unrecognised result
# is not known, never guessed.
HBSAG = "hbsag"
ANTI_HBC = "anti_hbc"
RESULT_POSITIVE = "result_positive"
RESULT_NEGATIVE = "result_negative"
HBV_FACTOR_BY_RESULTS: dict[tuple[bool | None, bool | None], str] = {
    (True, True): "hbv_active",
    (True, False): "hbv_active",
    (True, None): "hbv_active",
    (False, True): "hbv_resolved",
    (None, True): "hbv_positive",
}
HBV_STATUS_BY_FACTOR = {
    "hbv_active": "active",
    "hbv_resolved": "resolved",
    "hbv_positive": "past_or_present",
}


@dataclass(slots=True)
class Readable:
    """A validated resource's JSON, where it came from, and its key for references."""

    kind: str
    raw: dict[str, Any]
    where: str
    full_url: str | None = None
    key: str | None = None

    @property
    def label(self) -> str:
        rid = self.raw.get("id")
        if isinstance(rid, str) and rid:
            return f"{self.kind}/{rid}"
        return self.full_url or f"{self.kind} ({self.where})"


@dataclass(slots=True)
class Accumulator:
    """What the readers found so far, for one case."""

    codes: FhirCodeLists
    as_of: date
    case: DerivedCase
    references: ReferenceIndex
    subject: str | None = None
    notes: list[str] = field(default_factory=list)
    medications: dict[str, dict[str, Any]] = field(default_factory=dict)
    observations: dict[str, list[tuple[datetime | None, Readable]]] = field(default_factory=dict)
    pregnant_conditions: list[str] = field(default_factory=list)
    prior: list[DerivedPriorTreatment] = field(default_factory=list)

    def about_patient(self, item: Readable) -> bool:
        """False (with a note) for a resource whose subject is another patient."""
        for attr in ("subject", "patient"):
            ref = item.raw.get(attr)
            if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
                target = self.references.resolve(ref["reference"])
                if target is None or self.subject is None or target == self.subject:
                    return True
                self.notes.append(
                    f"{item.label} is about {ref['reference']}, not {self.subject}; set aside"
                )
                return False
        return True


# --------------------------------------------------------------------------------------------
# JSON access (validated resources, so only absent elements need care)
# --------------------------------------------------------------------------------------------


def codings(concept: Any) -> list[tuple[str, str]]:
    """(system, code) pairs of a CodeableConcept's JSON; incomplete codings are skipped."""
    if not isinstance(concept, dict):
        return []
    found = []
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str) and code.strip():
                found.append((system, code.strip()))
    return found


def status_codes(concept: Any) -> set[str]:
    return {code for _, code in codings(concept)}


def coding_text(coding: tuple[str, str]) -> str:
    return f"{coding[0]}|{coding[1]}"


def instant(value: Any) -> datetime | None:
    """A FHIR date/dateTime/instant (possibly partial) as an aware datetime, for ordering."""
    if not isinstance(value, str):
        return None
    if len(value) > 10:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        parts = [int(p) for p in value[:10].split("-")]
    except ValueError:
        return None
    while len(parts) < 3:
        parts.append(1)
    try:
        return datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
    except ValueError:
        return None


def _observation_time(raw: dict[str, Any]) -> datetime | None:
    if "effectiveDateTime" in raw:
        return instant(raw["effectiveDateTime"])
    if "effectiveInstant" in raw:
        return instant(raw["effectiveInstant"])
    period = raw.get("effectivePeriod")
    if isinstance(period, dict):
        return instant(period.get("end") or period.get("start"))
    return instant(raw.get("issued"))


def medication_codings(item: Readable, acc: Accumulator) -> list[tuple[str, str]]:
    """The codings of the medication an order, administration or statement names: inline,
    contained (`#id`) or a Medication resource resolved through the Bundle's references."""
    raw = item.raw
    if "medicationCodeableConcept" in raw:
        return codings(raw["medicationCodeableConcept"])
    ref = raw.get("medicationReference")
    target = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(target, str):
        return []
    if target.startswith("#"):
        for contained in raw.get("contained") or ():
            if isinstance(contained, dict) and contained.get("id") == target[1:]:
                return codings(contained.get("code"))
        return []
    key = acc.references.resolve(target)
    medication = acc.medications.get(key) if key else None
    return codings(medication.get("code")) if medication is not None else []


def therapy_of(found: list[tuple[str, str]], codes: FhirCodeLists) -> tuple[str, str] | None:
    """(therapy id, coding text) for the first coding the catalog knows."""
    for coding in found:
        therapy_ids, _ = codes.therapies.match(*coding)
        if therapy_ids:
            return therapy_ids[0], coding_text(coding)
    return None


# --------------------------------------------------------------------------------------------
# Selection on the raw JSON (before validation)
# --------------------------------------------------------------------------------------------


CONDITION_ROLES = frozenset({"condition", "risk_factor", "pregnant"})
ALLERGY_ROLES = frozenset({"risk_factor"})
OBSERVATION_ROLES = frozenset({"observation"})
THERAPY_ROLES = frozenset({"therapy"})


def roles(codes: FhirCodeLists, system: str, code: str) -> frozenset[str]:
    """What a coding can be for in the catalog's lists (memoised per catalog version)."""
    key = ("roles", system, code)
    found: frozenset[str] | None = codes.memo.get(key)
    if found is None:
        found = frozenset(
            name
            for name, known in (
                ("condition", bool(codes.conditions.match(system, code)[0])),
                ("risk_factor", bool(codes.risk_factors.match(system, code)[0])),
                ("pregnant", codes.in_value_list(PREGNANT_VALUES, system, code)),
                ("observation", codes.observation_attribute(system, code) is not None),
                ("therapy", bool(codes.therapies.match(system, code)[0])),
            )
            if known
        )
        if len(codes.memo) < 100_000:
            codes.memo[key] = found
    return found


def _any_known(concept: Any, wanted: frozenset[str], codes: FhirCodeLists) -> bool:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding", []), list):
        return True  # malformed: let validation report it
    return any(roles(codes, s, c) & wanted for s, c in codings(concept))


def relevant(raw: dict[str, Any], codes: FhirCodeLists) -> bool:
    """Whether a resource can change the case: its type is read and its code is in a catalog
    code list. Decided on the JSON, so the other 90% of a record is never validated."""
    kind = raw.get("resourceType")
    if kind == "Patient":
        return True
    if kind == "Condition":
        return _any_known(raw.get("code"), CONDITION_ROLES, codes)
    if kind == "AllergyIntolerance":
        return _any_known(raw.get("code"), ALLERGY_ROLES, codes)
    if kind == "Observation":
        return _any_known(raw.get("code"), OBSERVATION_ROLES, codes)
    if kind in {"MedicationRequest", "MedicationAdministration", "MedicationStatement"}:
        if "medicationCodeableConcept" not in raw:
            return True  # a reference: the Medication decides, after resolution
        return _any_known(raw.get("medicationCodeableConcept"), THERAPY_ROLES, codes)
    if kind in {"Medication", "Procedure"}:
        return _any_known(raw.get("code"), THERAPY_ROLES, codes)
    return False


# Elements a reader cannot do without: in lenient mode a validation error in any other
# element sets that element aside and the resource is still read.
NEEDED: dict[str, frozenset[str]] = {
    "Patient": frozenset({"resourceType", "birthDate"}),
    "Condition": frozenset({"resourceType", "code", "clinicalStatus", "verificationStatus"}),
    "AllergyIntolerance": frozenset(
        {"resourceType", "code", "clinicalStatus", "verificationStatus"}
    ),
    "Observation": frozenset(
        {
            "resourceType",
            "code",
            "status",
            "valueQuantity",
            "valueCodeableConcept",
            "valueBoolean",
        }
    ),
    "MedicationRequest": frozenset(
        {"resourceType", "status", "medicationCodeableConcept", "medicationReference"}
    ),
    "MedicationAdministration": frozenset(
        {"resourceType", "status", "medicationCodeableConcept", "medicationReference"}
    ),
    "MedicationStatement": frozenset(
        {"resourceType", "status", "medicationCodeableConcept", "medicationReference"}
    ),
    "Medication": frozenset({"resourceType", "code"}),
    "Procedure": frozenset({"resourceType", "status", "code"}),
}


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------


def read_condition(acc: Accumulator, item: Readable) -> None:
    raw = item.raw
    if not status_codes(raw.get("clinicalStatus")) & ACTIVE_CLINICAL:
        return
    verification = status_codes(raw.get("verificationStatus"))
    if verification and not verification & CONFIRMED:
        acc.notes.append(
            f"{item.label} is {'/'.join(sorted(verification))}, not confirmed; not counted"
        )
        return
    for coding in codings(raw.get("code")):
        ids, matched = acc.codes.conditions.match(*coding)
        for cid in ids:
            if all(c.condition_id != cid for c in acc.case.conditions):
                acc.case.conditions.append(
                    DerivedCondition(
                        condition_id=cid,
                        coding=coding_text(coding),
                        matched=matched or "",
                        source=item.label,
                    )
                )
        for factor in acc.codes.risk_factors.match(*coding)[0]:
            add_risk_factor(acc, factor, coding, item)
        if acc.codes.in_value_list(PREGNANT_VALUES, *coding):
            acc.pregnant_conditions.append(item.label)


def read_allergy(acc: Accumulator, item: Readable) -> None:
    clinical = status_codes(item.raw.get("clinicalStatus"))
    if clinical and "active" not in clinical:
        return
    if status_codes(item.raw.get("verificationStatus")) & ALLERGY_REFUTED:
        return
    for coding in codings(item.raw.get("code")):
        for factor in acc.codes.risk_factors.match(*coding)[0]:
            add_risk_factor(acc, factor, coding, item)


def read_observation(acc: Accumulator, item: Readable) -> None:
    if item.raw.get("status") not in OBSERVATION_USABLE:
        return
    for coding in codings(item.raw.get("code")):
        attribute = acc.codes.observation_attribute(*coding)
        if attribute is None:
            continue
        when = _observation_time(item.raw)
        if when is not None and when.date() > acc.as_of:
            acc.notes.append(f"{item.label} is dated after {acc.as_of}; set aside")
            return
        acc.observations.setdefault(attribute, []).append((when, item))
        return


def read_medication_request(acc: Accumulator, item: Readable) -> None:
    raw = item.raw
    status = raw.get("status")
    found = therapy_of(medication_codings(item, acc), acc.codes)
    if found is None or not isinstance(status, str):
        return
    therapy_id, coding = found
    if status in ORDER_CURRENT and raw.get("doNotPerform") is not True:
        intent = raw.get("intent")
        rid = raw.get("id")
        acc.case.orders.append(
            DerivedOrder(
                therapy_id=therapy_id,
                coding=coding,
                status=status,
                intent=intent if isinstance(intent, str) else None,
                source=item.label,
                resource_id=f"MedicationRequest/{rid}" if isinstance(rid, str) and rid else None,
                reason_condition_ids=reason_conditions(acc, raw),
            )
        )
    if raw.get("doNotPerform") is not True and status in ORDER_HISTORY:
        add_prior(acc, therapy_id, coding, item, ongoing=ORDER_HISTORY[status])


def reason_conditions(acc: Accumulator, raw: dict[str, Any]) -> list[str]:
    """Catalog conditions named in `reasonCode` (orders, administrations, procedures)."""
    return sorted(
        {
            cid
            for concept in raw.get("reasonCode") or ()
            for c in codings(concept)
            for cid in acc.codes.conditions.match(*c)[0]
        }
    )


def _history_reader(
    statuses: dict[str, bool], code_of: Callable[[Accumulator, Readable], list[tuple[str, str]]]
) -> Callable[[Accumulator, Readable], None]:
    def read(acc: Accumulator, item: Readable) -> None:
        status = item.raw.get("status")
        if not isinstance(status, str) or status not in statuses:
            return
        found = therapy_of(code_of(acc, item), acc.codes)
        if found is not None:
            add_prior(acc, found[0], found[1], item, ongoing=statuses[status])

    return read


read_medication_administration = _history_reader(
    ADMINISTRATION_HISTORY, lambda acc, item: medication_codings(item, acc)
)
read_medication_statement = _history_reader(
    STATEMENT_HISTORY, lambda acc, item: medication_codings(item, acc)
)
read_procedure = _history_reader(PROCEDURE_HISTORY, lambda acc, item: codings(item.raw.get("code")))


READERS: dict[str, Callable[[Accumulator, Readable], None]] = {
    "Condition": read_condition,
    "AllergyIntolerance": read_allergy,
    "Observation": read_observation,
    "MedicationRequest": read_medication_request,
    "MedicationAdministration": read_medication_administration,
    "MedicationStatement": read_medication_statement,
    "Procedure": read_procedure,
}


def add_risk_factor(acc: Accumulator, factor: str, coding: tuple[str, str], item: Readable) -> None:
    if all(r.risk_factor != factor for r in acc.case.risk_factors):
        acc.case.risk_factors.append(
            DerivedRiskFactor(risk_factor=factor, coding=coding_text(coding), source=item.label)
        )


def add_prior(
    acc: Accumulator, therapy_id: str, coding: str, item: Readable, *, ongoing: bool
) -> None:
    acc.prior.append(
        DerivedPriorTreatment(
            therapy_id=therapy_id,
            ongoing=ongoing,
            coding=coding,
            source=item.label,
            reason_condition_ids=reason_conditions(acc, item.raw),
        )
    )


# --------------------------------------------------------------------------------------------
# After all resources: observations -> values, pregnancy
# --------------------------------------------------------------------------------------------


def numeric_value(
    acc: Accumulator, attribute: str, when: datetime | None, item: Readable
) -> tuple[datetime | None, DerivedValue] | None:
    """The observation's value in the catalog's unit for the attribute, or None with a note."""
    quantity = item.raw.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        if "dataAbsentReason" not in item.raw:
            acc.notes.append(f"{item.label}: {attribute} has no numeric value; not used")
        return None
    assert isinstance(quantity, dict)
    if quantity.get("comparator"):
        acc.notes.append(
            f"{item.label}: {attribute} reported as {quantity['comparator']}{value}, "
            "a bound, not a value; not used"
        )
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        number = math.inf
    if not math.isfinite(number) or abs(number) > 1e9:
        acc.notes.append(f"{item.label}: {attribute} value is out of any plausible range; not used")
        return None
    unit = quantity.get("code") if quantity.get("system") == UCUM else None
    unit = unit or quantity.get("unit") or quantity.get("code")
    spec = acc.codes.observations.get(attribute)
    target = spec.unit if spec is not None else None
    note = None
    if target is not None:
        if not isinstance(unit, str) or not unit:
            acc.notes.append(f"{item.label}: {attribute} has no unit; not used")
            return None
        converted = convert(number, unit, target)
        if converted is None:
            acc.notes.append(
                f"{item.label}: {attribute} unit '{unit}' is not convertible to {target}"
            )
            return None
        number, unit, note = round(converted.value, 6), target, converted.annotation_note
    return when, DerivedValue(
        value=number,
        unit=str(unit) if unit else None,
        date=when.date().isoformat() if when else None,
        source=item.label,
        code=coding_text(codings(item.raw.get("code"))[0]),
        note=note,
    )


def finish_observations(acc: Accumulator) -> None:
    """The latest usable value per numeric attribute (and the eGFR trend)."""
    for attribute in NUMERIC_ATTRIBUTES:
        found = acc.observations.get(attribute, [])
        values = [v for v in (numeric_value(acc, attribute, w, o) for w, o in found) if v]
        values.sort(key=lambda v: v[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
        if not values:
            continue
        undated = [v for v in values if v[0] is None]
        if undated and len(values) > 1:
            acc.notes.append(
                f"{attribute}: {len(undated)} result(s) without a date; only dated ones used"
            )
            values = [v for v in values if v[0] is not None]
            if not values:
                continue
        latest = values[0][1]
        setattr(acc.case, attribute, latest)
        if latest.note:
            acc.notes.append(f"{latest.source}: {attribute} {latest.note}")
        if attribute == "egfr":
            acc.case.egfr_history = [v[1] for v in values[1:6]]


def finish_pregnancy(acc: Accumulator) -> None:
    """An active pregnancy condition, else the latest pregnancy-status observation whose value
    the catalog recognises (`pregnant` / `not_pregnant` value codes, or a boolean)."""
    if acc.pregnant_conditions:
        acc.case.pregnant, acc.case.pregnancy_source = True, acc.pregnant_conditions[0]
        return
    positive = acc.codes.observations.get(PREGNANT_VALUES)
    negative = acc.codes.observations.get(NOT_PREGNANT_VALUES)
    found = sorted(
        acc.observations.get(PREGNANCY_STATUS, []),
        key=lambda pair: pair[0] or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    for _, item in found:
        answer: bool | None = None
        if isinstance(item.raw.get("valueBoolean"), bool):
            answer = bool(item.raw["valueBoolean"])
        for coding in codings(item.raw.get("valueCodeableConcept")):
            if positive is not None and coding in positive.codes:
                answer = True
            elif negative is not None and coding in negative.codes:
                answer = False
        if answer is None:
            acc.notes.append(f"{item.label}: pregnancy status value not recognised; not used")
            continue
        acc.case.pregnant, acc.case.pregnancy_source = answer, item.label
        return


def finish_prior_treatments(acc: Accumulator) -> None:
    """History found in the record; none found stays None (unknown), never []."""
    if acc.prior:
        acc.case.prior_treatments = acc.prior


def qualitative_result(acc: Accumulator, attribute: str) -> tuple[bool | None, Readable | None]:
    """The latest result of a qualitative test: True (positive), False (negative) or None
    (no result, or the latest one's value is in neither catalog list, e.g. indeterminate)."""
    found = sorted(
        acc.observations.get(attribute, []),
        key=lambda pair: pair[0] or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    if not found:
        return None, None
    item = found[0][1]
    positive = acc.codes.observations.get(RESULT_POSITIVE)
    negative = acc.codes.observations.get(RESULT_NEGATIVE)
    for coding in codings(item.raw.get("valueCodeableConcept")):
        if positive is not None and coding in positive.codes:
            return True, item
        if negative is not None and coding in negative.codes:
            return False, item
    acc.notes.append(f"{item.label}: {attribute} result not recognised as positive or negative")
    return None, item


def finish_hbv_serology(acc: Accumulator) -> None:
    """Hepatitis B status from the latest HBsAg and anti-HBc results (see HBV_FACTOR_BY_RESULTS)."""
    hbsag, hbsag_item = qualitative_result(acc, HBSAG)
    anti_hbc, anti_hbc_item = qualitative_result(acc, ANTI_HBC)
    factor = HBV_FACTOR_BY_RESULTS.get((hbsag, anti_hbc))
    if factor is not None:
        item = hbsag_item if hbsag else anti_hbc_item
        assert item is not None
        add_risk_factor(acc, factor, codings(item.raw.get("code"))[0], item)
    elif hbsag is False and anti_hbc is None:
        acc.notes.append("HBsAg negative but no anti-HBc result: a past hepatitis B is not known")
    for found in acc.case.risk_factors:
        status = HBV_STATUS_BY_FACTOR.get(found.risk_factor)
        if status is not None and acc.case.hbv_status is None:
            acc.case.hbv_status = status
    if acc.case.hbv_status is None and hbsag is False and anti_hbc is False:
        acc.case.hbv_status = "none"
