"""FHIR R4 resources -> the engine's `PatientCase`, with a record of what was understood.

Every resource is parsed and validated with `fhir.resources.R4B` (the package's default models
are R5 and reject R4 data). Nothing here knows a clinical code: conditions, risk factors,
observations and therapy orders are recognised only through the catalog's code lists
(`api.fhir.codes`). What cannot be derived is reported as unknown, with the reason, and is never
guessed: a partial birth date that leaves the age ambiguous, an eGFR reported as ">60", a value
in a unit that cannot be converted, a pregnancy status with an unrecognised value.

Two parsing modes: `strict` (the JSON endpoint: any invalid resource is an error naming the
resource and the path) and lenient (CDS Hooks prefetch: one non-conformant EHR resource is set
aside and reported, so it cannot fail the whole hook).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, Field, ValidationError

from api.fhir.codes import FhirCodeLists
from scoring.model import PatientCase

# FHIR status vocabularies (FHIR semantics, not clinical knowledge).
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
# Only confirmed conditions count; a missing verificationStatus is read as the record's
# assertion (R4 makes the element optional and most problem lists omit it).
CONFIRMED = frozenset({"confirmed"})
ALLERGY_REFUTED = frozenset({"refuted", "entered-in-error", "unconfirmed"})
OBSERVATION_USABLE = frozenset({"final", "amended", "corrected"})
ORDER_CURRENT = frozenset({"active", "draft", "on-hold"})

# Attributes of `observation_codes` that become numeric PatientCase fields.
NUMERIC_ATTRIBUTES = ("egfr", "platelet_count", "igg_trough")
PREGNANCY_STATUS = "pregnancy"
PREGNANT_VALUES = "pregnant"
NOT_PREGNANT_VALUES = "not_pregnant"

UCUM = "http://unitsofmeasure.org"

# Unit arithmetic (UCUM and common lab spellings), not clinical knowledge: each written form
# maps to (dimension, factor to that dimension's base unit).
_UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(
        (
            "ml/min/{1.73_m2}",
            "ml/min/1.73m2",
            "ml/min/1.73m^2",
            "ml/min/{1.73m2}",
            "ml/min/1.73_m2",
            "ml/min/1.73",
            "ml/min/1.73sqm",
        ),
        ("gfr", 1.0),
    ),
    "mg/dl": ("mass", 1.0),
    "g/l": ("mass", 100.0),
    "mg/l": ("mass", 0.1),
    "g/dl": ("mass", 1000.0),
    **dict.fromkeys(
        (
            "10*9/l",
            "10^9/l",
            "x10*9/l",
            "x10^9/l",
            "10*3/ul",
            "10^3/ul",
            "x10*3/ul",
            "x10^3/ul",
            "x10e3/ul",
            "10*3/mm3",
            "k/ul",
            "giga/l",
            "thou/ul",
        ),
        ("count", 1.0),
    ),
    "/ul": ("count", 0.001),
    "/mm3": ("count", 0.001),
    "10*6/l": ("count", 0.001),
}


def _unit_key(unit: str) -> str:
    return unit.replace(" ", "").replace("µ", "u").replace("μ", "u").lower()


def convert_unit(value: float, source_unit: str, target_unit: str) -> float | None:
    """`value` expressed in `target_unit`, or None when the units are unknown or incompatible."""
    if _unit_key(source_unit) == _unit_key(target_unit):
        return value
    source = _UNITS.get(_unit_key(source_unit))
    target = _UNITS.get(_unit_key(target_unit))
    if source is None or target is None or source[0] != target[0]:
        return None
    return value * source[1] / target[1]


# --------------------------------------------------------------------------------------------
# What was understood
# --------------------------------------------------------------------------------------------


class DerivedValue(BaseModel):
    value: float
    unit: str | None
    date: str | None = Field(description="When it was measured (effective date), ISO 8601")
    source: str = Field(description="The resource it came from, e.g. Observation/egfr-3")
    code: str = Field(description="system|code of the observation")


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
    intent: str
    source: str
    reason_condition_ids: list[str] = []


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
    pregnant: bool | None = None
    pregnancy_source: str | None = None
    risk_factors: list[DerivedRiskFactor] = []
    orders: list[DerivedOrder] = []
    unknown: list[str] = Field(
        default=[], description="Patient facts the FHIR data did not establish (never guessed)"
    )
    notes: list[str] = Field(default=[], description="Why a fact is unknown or was set aside")
    skipped: list[str] = Field(
        default=[], description="Resources that could not be read (lenient mode only)"
    )

    def patient_case(self, condition_id: str | None = None) -> PatientCase:
        chosen = condition_id or self.condition_id
        if chosen is None:
            raise ValueError("no condition")
        return PatientCase(
            condition_id=chosen,
            age_years=self.age_years,
            egfr=self.egfr.value if self.egfr else None,
            pregnant=self.pregnant,
            risk_factors=frozenset(r.risk_factor for r in self.risk_factors),
            platelet_count=self.platelet_count.value if self.platelet_count else None,
            igg_trough=self.igg_trough.value if self.igg_trough else None,
        )


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FhirProblem:
    resource: str
    path: str
    message: str

    def as_error(self) -> dict[str, str]:
        return {
            "resource": self.resource,
            "path": self.path,
            "message": self.message,
            "type": "fhir",
        }


class FhirInputError(Exception):
    """FHIR input that does not validate; each problem names the resource and the path."""

    def __init__(self, problems: Sequence[FhirProblem]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else FhirProblem("?", "", "invalid")
        super().__init__(f"{first.resource} at {first.path}: {first.message}")


def _loc(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _label(raw: dict[str, Any], where: str) -> str:
    kind = raw.get("resourceType")
    rid = raw.get("id")
    if isinstance(kind, str) and isinstance(rid, str):
        return f"{kind}/{rid} ({where})"
    if isinstance(kind, str):
        return f"{kind} ({where})"
    return where


def parse_resource(raw: Any, where: str) -> tuple[Any | None, list[FhirProblem]]:
    """Validate one resource with its R4B model; problems name it and the failing path."""
    if not isinstance(raw, dict):
        return None, [FhirProblem(where, where, "a resource must be a JSON object")]
    kind = raw.get("resourceType")
    label = _label(raw, where)
    if not isinstance(kind, str):
        return None, [FhirProblem(label, f"{where}.resourceType", "resourceType is missing")]
    try:
        model = get_fhir_model_class(kind)
    except (ValueError, KeyError):
        return None, [
            FhirProblem(label, f"{where}.resourceType", f"'{kind}' is not an R4 resource type")
        ]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            FhirProblem(label, f"{kind}.{_loc(e['loc'])}" if e["loc"] else kind, e["msg"])
            for e in exc.errors()[:10]
        ]
    except (ValueError, TypeError) as exc:  # a model validator raising outside pydantic
        return None, [FhirProblem(label, kind, str(exc)[:300])]


def bundle_entries(
    raw: Any, where: str = "Bundle", *, check_shell: bool = True
) -> tuple[list[Any], list[FhirProblem]]:
    """The raw resources of a Bundle, after checking the Bundle itself (without its entries'
    resources, which are validated one by one so errors name the resource). Prefetch
    searchsets skip the shell check: only their resources are used, each validated."""
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        return [], [FhirProblem(where, f"{where}.resourceType", "expected a FHIR Bundle")]
    entries = raw.get("entry", [])
    if not isinstance(entries, list):
        return [], [FhirProblem(where, f"{where}.entry", "entry must be an array")]
    problems: list[FhirProblem] = []
    if check_shell:
        problems = _check_shell(raw, entries, where)
    resources = []
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and "resource" in entry:
            search = entry.get("search")
            if isinstance(search, dict) and search.get("mode") == "outcome":
                continue  # a search OperationOutcome, not patient data
            resources.append((f"{where}.entry[{index}].resource", entry["resource"]))
    return resources, problems


def _check_shell(raw: dict[str, Any], entries: list[Any], where: str) -> list[FhirProblem]:
    shell = dict(raw)
    shell["entry"] = [
        {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
        for e in entries
    ]
    if not shell["entry"]:
        shell.pop("entry")
    _, problems = parse_resource(shell, where)
    return problems


def parse_resources(
    raws: Iterable[tuple[str, Any]], *, strict: bool
) -> tuple[list[Any], list[str]]:
    """Validate each resource; strict raises on the first invalid ones, lenient skips them."""
    parsed: list[Any] = []
    skipped: list[str] = []
    problems: list[FhirProblem] = []
    seen: set[tuple[str, str]] = set()
    for where, raw in raws:
        resource, found = parse_resource(raw, where)
        if found or resource is None:
            problems.extend(found)
            skipped.append(f"{found[0].resource}: {found[0].path}: {found[0].message}")
            continue
        key = (resource.get_resource_type(), resource.id or f"#{len(parsed)}")
        if resource.id and key in seen:
            continue  # the same resource from two prefetch keys
        seen.add(key)
        parsed.append(resource)
    if strict and problems:
        raise FhirInputError(problems)
    return parsed, skipped


# --------------------------------------------------------------------------------------------
# Deriving the case
# --------------------------------------------------------------------------------------------


def _ref(resource: Any) -> str:
    return f"{resource.get_resource_type()}/{resource.id or '?'}"


def _codings(concept: Any) -> list[Any]:
    return list(concept.coding or []) if concept is not None else []


def _status_codes(concept: Any) -> set[str]:
    return {c.code for c in _codings(concept) if c.code}


def _instant(value: Any) -> datetime | None:
    """A FHIR date/dateTime/instant (possibly partial) as an aware datetime, for ordering."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value)
    try:
        parts = [int(p) for p in text[:10].split("-")]
    except ValueError:
        return None
    while len(parts) < 3:
        parts.append(1)
    try:
        return datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
    except ValueError:
        return None


def _observation_time(obs: Any) -> datetime | None:
    if obs.effectiveDateTime is not None:
        return _instant(obs.effectiveDateTime)
    if obs.effectiveInstant is not None:
        return _instant(obs.effectiveInstant)
    if obs.effectivePeriod is not None:
        return _instant(obs.effectivePeriod.end or obs.effectivePeriod.start)
    return _instant(obs.issued)


def _patient_reference(resource: Any) -> str | None:
    for attr in ("subject", "patient"):
        ref = getattr(resource, attr, None)
        if ref is not None and ref.reference:
            return str(ref.reference)
    return None


def age_on(birth: Any, on: date) -> tuple[float | None, str | None]:
    """Completed years on `on`. A partial birth date (YYYY or YYYY-MM) gives an age only when
    every day it could stand for gives the same completed years; otherwise unknown + why."""
    if isinstance(birth, datetime):
        birth = birth.date()
    if isinstance(birth, date):
        if birth > on:
            return None, f"birthDate {birth.isoformat()} is after {on.isoformat()}"
        years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
        return float(years), None
    text = str(birth)
    try:
        parts = [int(p) for p in text.split("-")]
    except ValueError:
        return None, f"birthDate '{text}' is not a date"
    year = parts[0]
    first_month, last_month = (parts[1], parts[1]) if len(parts) > 1 else (1, 12)
    earliest = date(year, first_month, 1)
    last_day = 31
    while True:
        try:
            latest = date(year, last_month, last_day)
            break
        except ValueError:
            last_day -= 1
    if earliest > on:
        return None, f"birthDate {text} is after {on.isoformat()}"
    oldest, _ = age_on(earliest, on)
    youngest, _ = age_on(min(latest, on), on)
    if oldest == youngest:
        return oldest, None
    return None, f"birthDate {text} is partial: the age is {youngest:.0f} or {oldest:.0f}"


def _coding_text(coding: Any) -> str:
    return f"{coding.system}|{coding.code}"


def _resolve_medication(order: Any, by_ref: dict[str, Any]) -> list[Any]:
    if order.medicationCodeableConcept is not None:
        return _codings(order.medicationCodeableConcept)
    ref = order.medicationReference
    if ref is None or not ref.reference:
        return []
    target = str(ref.reference)
    if target.startswith("#"):
        for contained in order.contained or []:
            if contained.id == target[1:]:
                return _codings(getattr(contained, "code", None))
        return []
    medication = by_ref.get(target) or by_ref.get(target.split("/_history")[0])
    return _codings(getattr(medication, "code", None)) if medication is not None else []


def derive_case(
    resources: Sequence[Any],
    codes: FhirCodeLists,
    *,
    as_of: date,
    patient_id: str | None = None,
    condition_id: str | None = None,
    skipped: Sequence[str] = (),
) -> DerivedCase:
    """Read the facts the engine uses from validated R4B resources.

    `patient_id` (the CDS Hooks `context.patientId`) keeps resources about another patient out;
    without it the bundle must hold at most one Patient. `condition_id` picks the condition
    when the data carries several the catalog covers.
    """
    notes: list[str] = []
    patients = [r for r in resources if r.get_resource_type() == "Patient"]
    if patient_id is not None:
        patients = [p for p in patients if p.id == patient_id]
    elif len(patients) > 1:
        raise FhirInputError(
            [
                FhirProblem(
                    "Bundle", "Bundle.entry", "the bundle holds more than one Patient resource"
                )
            ]
        )
    patient = patients[0] if patients else None
    subject = f"Patient/{patient.id}" if patient is not None and patient.id else None
    if patient_id is not None:
        subject = f"Patient/{patient_id}"

    def about_patient(resource: Any) -> bool:
        ref = _patient_reference(resource)
        if ref is None or subject is None:
            return True
        if ref == subject or ref.endswith("/" + subject):
            return True
        notes.append(f"{_ref(resource)} is about {ref}, not {subject}; set aside")
        return False

    by_ref = {_ref(r): r for r in resources if r.id}
    case = DerivedCase(as_of=as_of, patient=subject, skipped=list(skipped))

    # Age
    if patient is not None and patient.birthDate is not None:
        case.birth_date = str(patient.birthDate)
        case.age_years, why = age_on(patient.birthDate, as_of)
        if why:
            notes.append(why)
    elif patient is None:
        notes.append("no Patient resource")
    else:
        notes.append(f"{_ref(patient)} has no birthDate")

    pregnant_conditions: list[str] = []
    pregnant_values = codes.observations.get(PREGNANT_VALUES)
    pregnant_codes = pregnant_values.codes if pregnant_values else frozenset()

    observations: dict[str, list[tuple[datetime | None, Any]]] = {}
    for resource in resources:
        kind = resource.get_resource_type()
        if kind in {"Patient", "Medication", "OperationOutcome", "Bundle"}:
            continue
        if not about_patient(resource):
            continue
        if kind == "Condition":
            clinical = _status_codes(resource.clinicalStatus)
            verification = _status_codes(resource.verificationStatus)
            if not clinical & ACTIVE_CLINICAL:
                continue
            if verification and not verification & CONFIRMED:
                notes.append(
                    f"{_ref(resource)} is {'/'.join(sorted(verification))}, not confirmed; "
                    "not counted"
                )
                continue
            for coding in _codings(resource.code):
                ids, matched = codes.conditions.match(coding.system, coding.code)
                for cid in ids:
                    if all(c.condition_id != cid for c in case.conditions):
                        case.conditions.append(
                            DerivedCondition(
                                condition_id=cid,
                                coding=_coding_text(coding),
                                matched=matched or "",
                                source=_ref(resource),
                            )
                        )
                for factor in codes.risk_factors.match(coding.system, coding.code)[0]:
                    _add_factor(case, factor, coding, resource)
                if (coding.system, (coding.code or "").strip()) in pregnant_codes:
                    pregnant_conditions.append(_ref(resource))
        elif kind == "AllergyIntolerance":
            clinical = _status_codes(resource.clinicalStatus)
            if clinical and "active" not in clinical:
                continue
            if _status_codes(resource.verificationStatus) & ALLERGY_REFUTED:
                continue
            for coding in _codings(resource.code):
                for factor in codes.risk_factors.match(coding.system, coding.code)[0]:
                    _add_factor(case, factor, coding, resource)
        elif kind == "Observation":
            if resource.status not in OBSERVATION_USABLE:
                continue
            for coding in _codings(resource.code):
                attribute = codes.observation_attribute(coding.system, coding.code)
                if attribute is not None:
                    when = _observation_time(resource)
                    if when is not None and when.date() > as_of:
                        notes.append(f"{_ref(resource)} is dated after {as_of}; set aside")
                        break
                    observations.setdefault(attribute, []).append((when, resource))
                    break
        elif kind == "MedicationRequest":
            if resource.status not in ORDER_CURRENT or resource.doNotPerform:
                continue
            for coding in _resolve_medication(resource, by_ref):
                therapy_ids, _ = codes.therapies.match(coding.system, coding.code)
                for therapy_id in therapy_ids:
                    reasons = sorted(
                        {
                            cid
                            for concept in resource.reasonCode or []
                            for c in _codings(concept)
                            for cid in codes.conditions.match(c.system, c.code)[0]
                        }
                    )
                    case.orders.append(
                        DerivedOrder(
                            therapy_id=therapy_id,
                            coding=_coding_text(coding),
                            status=str(resource.status),
                            intent=str(resource.intent),
                            source=_ref(resource),
                            reason_condition_ids=reasons,
                        )
                    )
                if therapy_ids:
                    break

    # Observations: the latest usable value per attribute.
    for attribute in NUMERIC_ATTRIBUTES:
        spec = codes.observations.get(attribute)
        found = observations.get(attribute, [])
        values = [v for v in (_numeric(attribute, spec, w, o, notes) for w, o in found) if v]
        values.sort(key=lambda v: v[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
        if not values:
            continue
        undated = [v for v in values if v[0] is None]
        if undated and len(values) > 1:
            notes.append(
                f"{attribute}: {len(undated)} result(s) without a date; only dated ones used"
            )
            values = [v for v in values if v[0] is not None]
            if not values:
                continue
        latest = values[0][1]
        setattr(case, attribute, latest)
        if attribute == "egfr":
            case.egfr_history = [v[1] for v in values[1:6]]

    _derive_pregnancy(case, observations, pregnant_conditions, codes, notes)

    # Which condition the result is for.
    candidates = [c.condition_id for c in case.conditions]
    if condition_id is not None:
        case.condition_id = condition_id
    elif len(candidates) == 1:
        case.condition_id = candidates[0]
    elif candidates:
        notes.append(
            "several catalog conditions are active: " + ", ".join(candidates) + "; choose one"
        )

    for name, known in (
        ("age_years", case.age_years is not None),
        ("egfr", case.egfr is not None),
        ("platelet_count", case.platelet_count is not None),
        ("igg_trough", case.igg_trough is not None),
        ("pregnant", case.pregnant is not None),
        ("weight_kg", False),
    ):
        if not known:
            case.unknown.append(name)
    if not candidates:
        case.unknown.insert(0, "condition")
    case.notes = notes
    return case


def _add_factor(case: DerivedCase, factor: str, coding: Any, resource: Any) -> None:
    if all(r.risk_factor != factor for r in case.risk_factors):
        case.risk_factors.append(
            DerivedRiskFactor(
                risk_factor=factor, coding=_coding_text(coding), source=_ref(resource)
            )
        )


def _numeric(
    attribute: str, spec: Any, when: datetime | None, obs: Any, notes: list[str]
) -> tuple[datetime | None, DerivedValue] | None:
    quantity = obs.valueQuantity
    if quantity is None or quantity.value is None:
        if obs.dataAbsentReason is None:
            notes.append(f"{_ref(obs)}: {attribute} has no numeric value; not used")
        return None
    if quantity.comparator:
        notes.append(
            f"{_ref(obs)}: {attribute} reported as {quantity.comparator}{quantity.value}, "
            "a bound, not a value; not used"
        )
        return None
    value = float(Decimal(quantity.value))
    if not math.isfinite(value) or abs(value) > 1e9:
        notes.append(f"{_ref(obs)}: {attribute} value is out of any plausible range; not used")
        return None
    unit = quantity.code if quantity.system == UCUM and quantity.code else quantity.unit
    target = spec.unit if spec is not None else None
    if target is not None:
        if not unit:
            notes.append(f"{_ref(obs)}: {attribute} has no unit; not used")
            return None
        converted = convert_unit(value, str(unit), target)
        if converted is None:
            notes.append(f"{_ref(obs)}: {attribute} unit '{unit}' is not convertible to {target}")
            return None
        value, unit = round(converted, 6), target
    coding = _codings(obs.code)[0]
    return when, DerivedValue(
        value=value,
        unit=str(unit) if unit else None,
        date=when.date().isoformat() if when else None,
        source=_ref(obs),
        code=_coding_text(coding),
    )


def _derive_pregnancy(
    case: DerivedCase,
    observations: dict[str, list[tuple[datetime | None, Any]]],
    pregnant_conditions: list[str],
    codes: FhirCodeLists,
    notes: list[str],
) -> None:
    """An active pregnancy condition, else the latest pregnancy-status observation whose value
    the catalog recognises (`pregnant` / `not_pregnant` value codes, or a boolean)."""
    if pregnant_conditions:
        case.pregnant, case.pregnancy_source = True, pregnant_conditions[0]
        return
    positive = codes.observations.get(PREGNANT_VALUES)
    negative = codes.observations.get(NOT_PREGNANT_VALUES)
    found = sorted(
        observations.get(PREGNANCY_STATUS, []),
        key=lambda item: item[0] or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    for _, obs in found:
        answer: bool | None = None
        if obs.valueBoolean is not None:
            answer = bool(obs.valueBoolean)
        for coding in _codings(obs.valueCodeableConcept):
            key = (coding.system, (coding.code or "").strip())
            if positive is not None and key in positive.codes:
                answer = True
            elif negative is not None and key in negative.codes:
                answer = False
        if answer is None:
            notes.append(f"{_ref(obs)}: pregnancy status value not recognised; not used")
            continue
        case.pregnant, case.pregnancy_source = answer, _ref(obs)
        return
