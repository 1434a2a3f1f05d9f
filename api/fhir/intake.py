"""FHIR R4 resources -> the engine's `PatientCase`, with a record of what was understood.

Three steps, so the cost follows what matters and not the size of the record:

1. **Select** on the raw JSON (`readers.relevant`): only resource types TADA reads, and only
   those whose code is in a catalog code list, go on. A Synthea patient of 844 entries keeps a
   few dozen; claims, encounters and the other 90% are never validated.
2. **Validate** each selected resource with `fhir.resources.R4B` (the package's default models
   are R5 and reject R4 data). `strict` (the JSON endpoint): an invalid resource is an error
   naming the resource and the path. Lenient (CDS Hooks prefetch and draft orders): an invalid
   element the reader does not need is set aside and reported, the rest is read; a resource
   whose needed elements are invalid is set aside whole, so it cannot fail the hook.
3. **Read** with one reader per resource type (`api.fhir.readers`) into one accumulator.
   References are resolved through the Bundle's `fullUrl`s (`urn:uuid:` and absolute URLs) as
   well as `Type/id`.

Nothing here knows a clinical code: conditions, risk factors, observations and therapies are
recognised only through the catalog's code lists (`api.fhir.codes`). What cannot be derived is
reported as unknown, with the reason, and is never guessed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from api.fhir import readers
from api.fhir.codes import FhirCodeLists
from api.fhir.derived import (
    DerivedCase,
    DerivedCondition,
    DerivedOrder,
    DerivedPriorTreatment,
    DerivedRiskFactor,
    DerivedValue,
)
from api.fhir.readers import NUMERIC_ATTRIBUTES, PREGNANCY_STATUS, Accumulator, Readable
from api.fhir.references import ReferenceIndex, resource_key
from api.fhir.units import convert

__all__ = [
    "NUMERIC_ATTRIBUTES",
    "PREGNANCY_STATUS",
    "DerivedCase",
    "DerivedCondition",
    "DerivedOrder",
    "DerivedPriorTreatment",
    "DerivedRiskFactor",
    "DerivedValue",
    "FhirInputError",
    "FhirProblem",
    "RawEntry",
    "Readable",
    "age_on",
    "bundle_entries",
    "convert_unit",
    "derive_case",
    "parse_resources",
]


def convert_unit(value: float, source_unit: str, target_unit: str) -> float | None:
    """`value` expressed in `target_unit`, or None when the units are unknown or incompatible."""
    converted = convert(value, source_unit, target_unit)
    return None if converted is None else converted.value


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


class RawEntry(NamedTuple):
    """A resource's JSON as found, where it was found, and its Bundle entry's fullUrl."""

    where: str
    raw: Any
    full_url: str | None = None


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


ModelErrors = tuple[tuple[tuple[Any, ...], str], ...]


class VerdictCache:
    """What R4B validation said about a resource's exact JSON, by a digest of that JSON.

    An EHR sends the same resources again and again (every chart open, every order hook for
    the same patient), and validation is most of a hook's cost. The key is a BLAKE2b digest of
    the canonical JSON (sorted keys), so a changed byte is a new key; the value is the list of
    errors (element path, message), never the resource. Bounded (least recently used goes),
    per process; `TADA_FHIR_VALIDATION_CACHE_SIZE=0` turns it off.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._verdicts: OrderedDict[bytes, ModelErrors] = OrderedDict()

    @staticmethod
    def key(kind: str, raw: dict[str, Any]) -> bytes | None:
        try:
            canonical = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
        except (orjson.JSONEncodeError, TypeError):  # e.g. an integer past 64 bits
            return None
        return hashlib.blake2b(kind.encode() + b"\0" + canonical, digest_size=20).digest()

    def get(self, key: bytes) -> ModelErrors | None:
        with self._lock:
            found = self._verdicts.get(key)
            if found is not None:
                self._verdicts.move_to_end(key)
            return found

    def clear(self) -> None:
        with self._lock:
            self._verdicts.clear()

    def __len__(self) -> int:
        return len(self._verdicts)

    def put(self, key: bytes, verdict: ModelErrors) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._verdicts[key] = verdict
            self._verdicts.move_to_end(key)
            while len(self._verdicts) > self.size:
                self._verdicts.popitem(last=False)


VERDICTS = VerdictCache(20_000)


def set_verdict_cache_size(size: int) -> None:
    """Resize (0: off) the process's validation verdict cache; from the app's settings."""
    VERDICTS.size = size
    if size <= 0:
        VERDICTS.clear()


def _model_errors(kind: str, model: Any, raw: dict[str, Any]) -> ModelErrors:
    key = VerdictCache.key(kind, raw) if VERDICTS.size > 0 else None
    if key is not None:
        found = VERDICTS.get(key)
        if found is not None:
            return found
    try:
        model.model_validate(raw)
        errors: ModelErrors = ()
    except ValidationError as exc:
        errors = tuple((tuple(e["loc"]), e["msg"]) for e in exc.errors()[:20])
    except (ValueError, TypeError) as exc:  # a model validator raising outside pydantic
        errors = (((), str(exc)[:300]),)
    if key is not None:
        VERDICTS.put(key, errors)
    return errors


def _validate(raw: Any, where: str) -> tuple[str | None, list[tuple[tuple[Any, ...], FhirProblem]]]:
    """The resource type and the validation problems (with their element paths)."""
    if not isinstance(raw, dict):
        return None, [((), FhirProblem(where, where, "a resource must be a JSON object"))]
    kind = raw.get("resourceType")
    label = _label(raw, where)
    if not isinstance(kind, str):
        return None, [((), FhirProblem(label, f"{where}.resourceType", "resourceType is missing"))]
    try:
        model = get_fhir_model_class(kind)
    except (ValueError, KeyError):
        return None, [
            (
                (),
                FhirProblem(label, f"{where}.resourceType", f"'{kind}' is not an R4 resource type"),
            )
        ]
    return kind, [
        (loc, FhirProblem(label, f"{kind}.{_loc(loc)}" if loc else kind, message))
        for loc, message in _model_errors(kind, model, raw)
    ]


def parse_resource(raw: Any, where: str) -> tuple[Any | None, list[FhirProblem]]:
    """Validate one resource with its R4B model; problems name it and the failing path."""
    kind, problems = _validate(raw, where)
    if problems or kind is None:
        return None, [p for _, p in problems]
    return get_fhir_model_class(kind).model_validate(raw), []


def bundle_entries(
    raw: Any, where: str = "Bundle", *, check_shell: bool = True
) -> tuple[list[RawEntry], list[FhirProblem]]:
    """The raw resources of a Bundle with their fullUrls, after checking the Bundle itself
    (without its entries' resources, which are validated one by one so errors name the
    resource). Prefetch searchsets skip the shell check: only their resources are used."""
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        return [], [FhirProblem(where, f"{where}.resourceType", "expected a FHIR Bundle")]
    entries = raw.get("entry", [])
    if not isinstance(entries, list):
        return [], [FhirProblem(where, f"{where}.entry", "entry must be an array")]
    problems: list[FhirProblem] = []
    if check_shell:
        problems = _check_shell(raw, entries, where)
    found = []
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and "resource" in entry:
            search = entry.get("search")
            if isinstance(search, dict) and search.get("mode") == "outcome":
                continue  # a search OperationOutcome, not patient data
            full_url = entry.get("fullUrl")
            found.append(
                RawEntry(
                    f"{where}.entry[{index}].resource",
                    entry["resource"],
                    full_url if isinstance(full_url, str) and full_url else None,
                )
            )
    return found, problems


def _check_shell(raw: dict[str, Any], entries: list[Any], where: str) -> list[FhirProblem]:
    """The Bundle without its entries validated with R4B, and each entry's shape checked on
    the JSON: validating 844 entries' `fullUrl`/`request`/`search` as models would make the
    cost follow the record's size, not what TADA reads."""
    shell = {k: v for k, v in raw.items() if k != "entry"}
    _, problems = parse_resource(shell, where)
    for index, entry in enumerate(entries):
        path = f"{where}.entry[{index}]"
        if not isinstance(entry, dict):
            problems.append(FhirProblem(where, path, "an entry must be a JSON object"))
        elif "fullUrl" in entry and not isinstance(entry["fullUrl"], str):
            problems.append(FhirProblem(where, f"{path}.fullUrl", "fullUrl must be a string"))
        elif "resource" in entry and not isinstance(entry["resource"], dict):
            problems.append(FhirProblem(where, f"{path}.resource", "a resource must be an object"))
        if len(problems) >= 20:
            break
    return problems


def select_entries(entries: Iterable[RawEntry], codes: FhirCodeLists) -> list[RawEntry]:
    """The entries that can change the case (type and code on the raw JSON); the rest is
    neither validated nor read. Entries that are not even objects go on, for validation to
    name them."""
    return [e for e in entries if not isinstance(e.raw, dict) or readers.relevant(e.raw, codes)]


def parse_resources(
    entries: Iterable[RawEntry | tuple[str, Any]],
    *,
    strict: bool,
    codes: FhirCodeLists | None = None,
) -> tuple[list[Readable], list[str]]:
    """Select (when `codes` is given), then validate each resource.

    Strict raises on the first invalid ones. Lenient sets aside an invalid element the reader
    does not need (the resource is read without it, and the element is named in the note) and
    skips a resource whose needed elements are invalid."""
    raw_entries = [e if isinstance(e, RawEntry) else RawEntry(*e) for e in entries]
    if codes is not None:
        raw_entries = select_entries(raw_entries, codes)
    parsed: list[Readable] = []
    skipped: list[str] = []
    problems: list[FhirProblem] = []
    seen: set[str] = set()
    for entry in raw_entries:
        if isinstance(entry.raw, dict):
            key = resource_key(entry.raw, entry.full_url)
            if key is not None and key in seen:
                continue  # the same resource from two prefetch keys: validate it once
        kind, found = _validate(entry.raw, entry.where)
        raw = entry.raw
        if found and not strict and kind is not None:
            raw, found = _set_aside(kind, raw, found, skipped)
        if found or kind is None:
            problems.extend(p for _, p in found)
            first = found[0][1]
            skipped.append(f"{first.resource}: {first.path}: {first.message}")
            continue
        key = resource_key(raw, entry.full_url)
        if key is not None:
            seen.add(key)
        parsed.append(Readable(kind, raw, entry.where, entry.full_url, key))
    if strict and problems:
        raise FhirInputError(problems)
    return parsed, skipped


SET_ASIDE = "set aside: "


def _set_aside(
    kind: str,
    raw: dict[str, Any],
    found: list[tuple[tuple[Any, ...], FhirProblem]],
    skipped: list[str],
) -> tuple[dict[str, Any], list[tuple[tuple[Any, ...], FhirProblem]]]:
    """Drop the invalid elements a reader does not need; keep the problems it cannot ignore."""
    needed = readers.NEEDED.get(kind)
    if needed is None:
        return raw, found
    elements = {loc[0] for loc, _ in found if loc}
    if any(not loc for loc, _ in found) or elements & needed:
        return raw, found
    trimmed = {k: v for k, v in raw.items() if k not in elements}
    label = _label(raw, "").removesuffix(" ()")
    for element in sorted(elements):
        skipped.append(f"{SET_ASIDE}{label}.{element} (not used by TADA; failed validation)")
    return trimmed, []


# --------------------------------------------------------------------------------------------
# Deriving the case
# --------------------------------------------------------------------------------------------


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


def _birth_date(value: str) -> date | str:
    try:
        return date.fromisoformat(value) if len(value) == 10 else value
    except ValueError:
        return value


def derive_case(
    resources: Sequence[Readable],
    codes: FhirCodeLists,
    *,
    as_of: date,
    patient_id: str | None = None,
    condition_id: str | None = None,
    skipped: Sequence[str] = (),
) -> DerivedCase:
    """Read the facts the engine uses from validated resources.

    `patient_id` (the CDS Hooks `context.patientId`) keeps resources about another patient out;
    without it the data must hold at most one Patient. `condition_id` picks the condition when
    the data carries several the catalog covers.
    """
    patients = [r for r in resources if r.kind == "Patient"]
    if patient_id is not None:
        patients = [p for p in patients if p.raw.get("id") == patient_id]
    elif len(patients) > 1:
        raise FhirInputError(
            [
                FhirProblem(
                    "Bundle", "Bundle.entry", "the bundle holds more than one Patient resource"
                )
            ]
        )
    patient = patients[0] if patients else None
    subject = patient.key if patient is not None else None
    if patient_id is not None:
        subject = f"Patient/{patient_id}"
    acc = Accumulator(
        codes=codes,
        as_of=as_of,
        case=DerivedCase(
            as_of=as_of,
            patient=f"Patient/{patient.raw['id']}"
            if patient is not None and isinstance(patient.raw.get("id"), str)
            else subject,
            skipped=[s for s in skipped if not s.startswith(SET_ASIDE)],
            set_aside=[s.removeprefix(SET_ASIDE) for s in skipped if s.startswith(SET_ASIDE)],
        ),
        references=ReferenceIndex((r.raw, r.full_url) for r in resources),
        subject=subject,
    )
    _read_age(acc, patient)
    acc.medications = {
        r.key: r.raw for r in resources if r.kind == "Medication" and r.key is not None
    }
    for item in resources:
        reader = readers.READERS.get(item.kind)
        if reader is not None and acc.about_patient(item):
            reader(acc, item)
    readers.finish_observations(acc)
    readers.finish_pregnancy(acc)
    readers.finish_hbv_serology(acc)
    readers.finish_prior_treatments(acc)
    _choose_condition(acc, condition_id)
    _list_unknowns(acc.case)
    acc.case.notes = acc.notes
    return acc.case


def _read_age(acc: Accumulator, patient: Readable | None) -> None:
    birth = patient.raw.get("birthDate") if patient is not None else None
    if patient is None:
        acc.notes.append("no Patient resource")
    elif not isinstance(birth, str):
        acc.notes.append(f"{patient.label} has no birthDate")
    else:
        acc.case.birth_date = birth
        acc.case.age_years, why = age_on(_birth_date(birth), acc.as_of)
        if why:
            acc.notes.append(why)


def _choose_condition(acc: Accumulator, condition_id: str | None) -> None:
    candidates = [c.condition_id for c in acc.case.conditions]
    if condition_id is not None:
        acc.case.condition_id = condition_id
    elif len(candidates) == 1:
        acc.case.condition_id = candidates[0]
    elif candidates:
        acc.notes.append(
            "several catalog conditions are active: " + ", ".join(candidates) + "; choose one"
        )


def _list_unknowns(case: DerivedCase) -> None:
    for name, known in (
        ("age_years", case.age_years is not None),
        ("egfr", case.egfr is not None),
        ("platelet_count", case.platelet_count is not None),
        ("igg_trough", case.igg_trough is not None),
        ("pregnant", case.pregnant is not None),
        ("weight_kg", case.weight_kg is not None),
        ("prior_treatments", case.prior_treatments is not None),
        ("hbv_status", case.hbv_status is not None),
    ):
        if not known:
            case.unknown.append(name)
    if not case.conditions:
        case.unknown.insert(0, "condition")
