"""The catalog's FHIR code lists as lookup tables, cached per catalog version.

Code lists are catalog data (see docs/catalog-format.md): which ICD-10-CM/SNOMED CT codes mean
which condition or risk factor, which LOINC codes carry eGFR, and which RxNorm codes identify an
order for a therapy. Nothing here knows a code; it only indexes what the catalog says.

ICD-10-CM is hierarchical by prefix (G35.B1 is a child of G35.B, D84.821 of D84.82), so an
ICD-10-CM code also matches the nearest catalog code it descends from; the catalog decides
which headers it lists (listing D84.8 would pull in the secondary immunodeficiencies, so it
does not). SNOMED CT hierarchy needs a terminology server, so SNOMED codes match exactly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from db.fhir_codes import CatalogCodeRows, CodeRow, load_code_rows

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
MEMO_LIMIT = 50_000


def normalise_code(system: str, code: str) -> str:
    code = code.strip()
    return code.upper() if system == ICD10CM else code


def _ancestors(code: str) -> list[str]:
    """ICD-10-CM ancestors by prefix, nearest first, down to the three-character category."""
    out = []
    current = code
    while len(current) > 3:
        current = current[:-1].rstrip(".")
        if len(current) >= 3:
            out.append(current)
    return out


@dataclass(frozen=True, slots=True)
class ObservationSpec:
    attribute: str
    unit: str | None
    codes: frozenset[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class CodeIndex:
    """(system, code) -> catalog ids; ICD-10-CM codes also match catalog ancestors."""

    entries: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # Answers already computed (a record repeats the same codes; ICD-10-CM ancestors cost
    # string work). Bounded: cleared when it grows past MEMO_LIMIT distinct codings.
    memo: dict[tuple[str, str], tuple[tuple[str, ...], str | None]] = field(
        default_factory=dict, compare=False
    )

    @classmethod
    def build(cls, rows: tuple[CodeRow, ...]) -> CodeIndex:
        entries: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            key = (row.system.strip(), normalise_code(row.system.strip(), row.code))
            targets = entries.setdefault(key, [])
            if row.target not in targets:
                targets.append(row.target)
        return cls({k: tuple(v) for k, v in entries.items()})

    def match(self, system: str | None, code: str | None) -> tuple[tuple[str, ...], str | None]:
        """The catalog ids a coding stands for, and the catalog code it matched (or none)."""
        if not system or not code:
            return (), None
        found_before = self.memo.get((system, code))
        if found_before is not None:
            return found_before
        answer = self._match(system, code)
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[(system, code)] = answer
        return answer

    def _match(self, system: str, code: str) -> tuple[tuple[str, ...], str | None]:
        norm = normalise_code(system, code)
        found = self.entries.get((system, norm))
        if found:
            return found, norm
        if system == ICD10CM:
            for ancestor in _ancestors(norm):
                found = self.entries.get((system, ancestor))
                if found:
                    return found, ancestor
        return (), None


@dataclass(frozen=True, slots=True)
class FhirCodeLists:
    version: int
    conditions: CodeIndex
    risk_factors: CodeIndex
    therapies: CodeIndex
    therapy_codings: dict[str, tuple[CodeRow, ...]]
    observations: dict[str, ObservationSpec]
    # Each observation attribute's code list as an index too, so a list used for Condition
    # codes (`pregnant`) matches ICD-10-CM descendants like the other lists.
    value_lists: dict[str, CodeIndex] = field(default_factory=dict)
    observation_by_code: dict[tuple[str, str], str] = field(default_factory=dict)
    # Derived once per catalog version by the code that uses them (prefetch templates).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_rows(cls, rows: CatalogCodeRows) -> FhirCodeLists:
        therapy_codings: dict[str, list[CodeRow]] = {}
        for row in rows.therapies:
            therapy_codings.setdefault(row.target, []).append(row)
        return cls(
            version=rows.version,
            conditions=CodeIndex.build(rows.conditions),
            risk_factors=CodeIndex.build(rows.risk_factors),
            therapies=CodeIndex.build(rows.therapies),
            therapy_codings={k: tuple(v) for k, v in therapy_codings.items()},
            observations={
                o.attribute: ObservationSpec(
                    attribute=o.attribute,
                    unit=o.unit,
                    codes=frozenset((c.system, c.code.strip()) for c in o.codes),
                )
                for o in rows.observations
            },
            value_lists={o.attribute: CodeIndex.build(o.codes) for o in rows.observations},
            observation_by_code={
                (c.system, c.code.strip()): o.attribute
                for o in reversed(rows.observations)
                for c in reversed(o.codes)
            },
        )

    def observation_attribute(self, system: str | None, code: str | None) -> str | None:
        if not system or not code:
            return None
        return self.observation_by_code.get((system, code.strip()))

    def in_value_list(self, attribute: str, system: str, code: str) -> bool:
        """Whether a coding is in an attribute's list (ICD-10-CM descendants included)."""
        index = self.value_lists.get(attribute)
        return index is not None and bool(index.match(system, code)[0])


class FhirCodeCache:
    """Holds the code lists of the newest catalog version seen; reloads when it changes.

    Keyed by the catalog snapshot's version, so the scoring path does no database work in
    steady state and a curator edit to a code list takes effect with the next snapshot.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._lock = threading.Lock()
        self._lists: FhirCodeLists | None = None

    @property
    def current(self) -> FhirCodeLists | None:
        return self._lists

    def get(self, version: int) -> FhirCodeLists:
        lists = self._lists
        if lists is not None and lists.version >= version:
            return lists
        with self._lock:
            if self._lists is not None and self._lists.version >= version:
                return self._lists
            with self._session_factory() as session:
                self._lists = FhirCodeLists.from_rows(load_code_rows(session))
            return self._lists


_CACHE_LOCK = threading.Lock()


def app_code_cache(app: FastAPI) -> FhirCodeCache:
    """The app's code cache, made on first use (the app factory does not know about FHIR)."""
    state = app.state
    cache: FhirCodeCache | None = getattr(state, "fhir_code_cache", None)
    if cache is None:
        with _CACHE_LOCK:
            cache = getattr(state, "fhir_code_cache", None)
            if cache is None:
                cache = FhirCodeCache(state.session_factory)
                state.fhir_code_cache = cache
    return cache


def code_cache(request: Request) -> FhirCodeCache:
    return app_code_cache(request.app)


def _code_lists_for_snapshot(request: Request) -> FhirCodeLists:
    version = request.app.state.catalog_cache.get().version
    return code_cache(request).get(version)


async def get_code_lists(request: Request) -> FhirCodeLists:
    """The code lists matching the catalog snapshot this request uses.

    `async` with a no-I/O fast path: when the lists for the loaded snapshot version are cached
    (the steady state), no thread hop and no database; otherwise load them in the thread pool.
    """
    lists = code_cache(request).current
    loaded = request.app.state.catalog_cache.loaded_version
    if lists is not None and loaded is not None and lists.version >= loaded:
        return lists
    return await run_in_threadpool(_code_lists_for_snapshot, request)
