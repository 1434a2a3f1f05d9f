"""A CDS Hooks service call: gather the FHIR data, derive the case, rank, answer with cards.

Gather follows CDS Hooks 2.0.1 "Prefetch": a key the client sent is used as sent (a resource,
a searchset Bundle, or `null` for "no data"); a key it did not send, or sent as an
OperationOutcome (a prefetch error), is fetched from `fhirServer` with the `fhirAuthorization`
bearer token. When a required key can be neither given nor fetched the answer is 412 with an
OperationOutcome naming the key (the 3.0 ballot's error body). The scoring path reads only the
in-memory catalog snapshot and cached code lists: no database work per call.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.cds.cards import CardSource, CardsOut, order_cards, patient_view_cards
from api.cds.discovery import REQUIRED_KEYS, ServiceSpec, prefetch_templates
from api.errors import ProblemError
from api.fhir.codes import FhirCodeLists
from api.fhir.derived import DerivedOrder
from api.fhir.intake import DerivedCase, RawEntry, bundle_entries, derive_case, parse_resources
from api.fhir.readers import Readable
from api.settings import Settings
from scoring.engine import rank
from scoring.errors import ScoringError
from scoring.model import CatalogSnapshot, Method, Preferences, Result, Weights
from scoring.weights import DEFAULT_RATINGS

log = logging.getLogger("tada.cds")

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
MAX_CONDITIONS = 3


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str = Field(min_length=1, max_length=20_000)
    token_type: str
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None

    def __repr__(self) -> str:  # never print the token
        return f"FhirAuthorization(token_type={self.token_type!r}, scope={self.scope!r})"

    __str__ = __repr__


class CdsRequest(BaseModel):
    """The body of `POST /cds-services/{id}` (CDS Hooks 2.0.1 "HTTP Request")."""

    model_config = ConfigDict(extra="allow")

    hook: str = Field(min_length=1, max_length=200)
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = Field(default=None, max_length=2000)
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_authorization(self) -> CdsRequest:
        # cds-r-1: fhirAuthorization present => fhirServer present.
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is required when fhirAuthorization is given (cds-r-1)")
        return self


class PrefetchUnavailable(Exception):
    """Data the service needs could be neither taken from prefetch nor fetched: a 412."""

    def __init__(self, keys: Sequence[str], why: str) -> None:
        super().__init__(why)
        self.keys = list(keys)
        self.why = why

    def operation_outcome(self) -> dict[str, Any]:
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "processing",
                    "details": {"text": self.why},
                    "diagnostics": f"Missing prefetch key(s): {', '.join(self.keys)}",
                    "expression": list(self.keys),
                }
            ],
        }


class BadHookRequest(ProblemError):
    status, title, slug = 400, "Bad CDS Hooks request", "bad-cds-request"


@dataclass(slots=True)
class Gathered:
    entries: list[RawEntry] = field(default_factory=list)
    draft_entries: list[RawEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Page:
    """One prefetch value or fetched page: its resources and the `next` link, if any."""

    entries: list[RawEntry]
    next_url: str | None = None
    error: str | None = None  # an OperationOutcome or something that is not FHIR data


def _read_value(value: Any, where: str) -> Page:
    """A prefetch value or a fetched body: `null`, a resource, or a searchset Bundle."""
    if value is None:
        return Page([])
    if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
        return Page([], error="an OperationOutcome")
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        entries, _ = bundle_entries(value, where, check_shell=False)
        return Page(entries, _next_link(value))
    return Page([RawEntry(where, value)])


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


@dataclass(slots=True)
class Fetcher:
    """GETs from the EHR's FHIR server within one time budget for the whole call.

    The bearer token goes only to `fhirServer`: a `next` link elsewhere is not followed."""

    client: httpx.Client
    base: str
    deadline: float
    timeout: float

    def absolute(self, url: str) -> str:
        """A relative `next` link (`Condition?page=2`) is relative to fhirServer."""
        return url if urlsplit(url).scheme else urljoin(self.base + "/", url)

    def on_server(self, url: str) -> bool:
        return url.startswith(self.base + "/") or url.startswith(self.base + "?")

    def get(self, url: str, where: str) -> Page:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0.01:
            return Page([], error="the time budget for fetching ran out")
        try:
            response = self.client.get(url, timeout=min(self.timeout, remaining))
        except httpx.HTTPError as exc:
            return Page([], error=f"{type(exc).__name__} from the FHIR server")
        if response.status_code == 404 and where.endswith(".patient"):
            return Page([])
        if response.status_code != 200:
            return Page([], error=f"the FHIR server answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            return Page([], error="the FHIR server answered with something other than JSON")
        page = _read_value(body, where)
        if page.error:
            page.error = f"the FHIR server answered with {page.error}"
        return page


@lru_cache(maxsize=256)
def _wanted(template: str) -> int | None:
    """The template's `_count`: a key that asks for the newest N stops after N results."""
    match = re.search(r"[?&]_count=(\d+)", template)
    return int(match.group(1)) if match else None


def _collect(
    key: str, first: Page, fetcher: Fetcher | None, limits: Limits, wanted: int | None = None
) -> tuple[str, list[RawEntry], str | None]:
    """All pages of one key: the first (prefetched or fetched), then its `next` links, bounded
    by pages, resources and the time budget. Returns (key, entries, why it is incomplete).

    A key whose template asks for `_count=N` (the newest N results) stops once it has N: the
    server's `next` link is then more than the template asked for."""
    if first.error:
        return key, [], first.error
    entries = list(first.entries)
    page, pages = first, 1
    while page.next_url and (wanted is None or len(entries) < wanted):
        if fetcher is None:
            return key, entries, "a next page is linked but no fhirServer was given"
        next_url = fetcher.absolute(page.next_url)
        if not fetcher.on_server(next_url):
            return key, entries, "a next page is linked on another server; not followed"
        if pages >= limits.pages or len(entries) >= limits.resources:
            return key, entries, f"more than {limits.pages} pages or {limits.resources} resources"
        page = fetcher.get(next_url, f"{key}.page{pages + 1}")
        pages += 1
        if page.error:
            return key, entries, page.error
        entries.extend(RawEntry(f"{e.where}.entry", e.raw, e.full_url) for e in page.entries)
    return key, entries, None


@dataclass(frozen=True, slots=True)
class Limits:
    pages: int
    resources: int
    budget_seconds: float


def _limits(settings: Settings) -> Limits:
    return Limits(
        pages=settings.cds_fetch_max_pages,
        resources=settings.cds_fetch_max_resources,
        budget_seconds=settings.cds_fetch_budget_seconds,
    )


def needs_fetch(request: CdsRequest, spec: ServiceSpec, codes: FhirCodeLists) -> bool:
    """Whether answering may need network I/O (a key missing, or a page still to follow).

    Without `fhirServer` nothing can be fetched (`gather` notes the gaps instead), so the call
    is pure computation and needs no thread hop."""
    if not request.fhirServer:
        return False
    prefetch = request.prefetch or {}
    for key, template in prefetch_templates(codes, orders=spec.orders).items():
        if key not in prefetch:
            return True
        value = prefetch[key]
        if (
            isinstance(value, dict)
            and value.get("resourceType") == "Bundle"
            and _next_link(value)
            and _wanted(template) is None
        ):
            return True
    return False


def gather(
    request: CdsRequest, spec: ServiceSpec, codes: FhirCodeLists, settings: Settings
) -> Gathered:
    """Every prefetch key as a list of resources: given, fetched, or followed page by page.

    A key sent as an OperationOutcome is the client's answer for it ("don't ask again"): it is
    not fetched, and for a required key the answer is 412."""
    patient_id = str(request.context.get("patientId", ""))
    templates = prefetch_templates(codes, orders=spec.orders)
    prefetch = request.prefetch or {}
    limits = _limits(settings)
    out = Gathered()
    given: dict[str, Page] = {}
    missing: dict[str, str] = {}
    for key, template in templates.items():
        if key in prefetch:
            given[key] = _read_value(prefetch[key], f"prefetch.{key}")
        else:
            missing[key] = template.replace("{{context.patientId}}", patient_id)
    paging = {
        k
        for k, page in given.items()
        if page.next_url and not page.error and _wanted(templates[k]) is None
    }
    if (missing or paging) and request.fhirServer:
        results = _fetch_all(request, given, missing, templates, settings, limits)
    else:
        results = [
            _collect(k, page, None, limits, _wanted(templates[k])) for k, page in given.items()
        ]
        results += [(k, [], "not in the prefetch and no fhirServer was given") for k in missing]
    failed = {}
    for key, found, why in results:
        out.entries.extend(found)
        if why:
            failed[key] = why
    required = sorted(REQUIRED_KEYS & set(failed))
    if required:
        raise PrefetchUnavailable(
            required,
            "Could not get " + "; ".join(f"{k} ({failed[k]})" for k in required) + ".",
        )
    out.notes.extend(
        f"{k}: incomplete or not available ({why})" for k, why in sorted(failed.items())
    )

    if spec.orders:
        drafts = request.context.get("draftOrders")
        entries, problems = bundle_entries(drafts, "context.draftOrders")
        if problems and not entries:
            raise BadHookRequest(
                f"context.draftOrders must be a FHIR Bundle: {problems[0].message}",
                errors=[p.as_error() for p in problems],
            )
        out.draft_entries = entries
    return out


def _fetch_all(
    request: CdsRequest,
    given: dict[str, Page],
    missing: dict[str, str],
    templates: dict[str, str],
    settings: Settings,
    limits: Limits,
) -> list[tuple[str, list[RawEntry], str | None]]:
    base = str(request.fhirServer).rstrip("/")
    scheme = urlsplit(base).scheme
    if scheme not in {"http", "https"} or (
        settings.environment == "production" and scheme != "https"
    ):
        raise BadHookRequest("fhirServer must be an https URL")
    headers = {"Accept": "application/fhir+json, application/json"}
    if request.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
    deadline = time.monotonic() + limits.budget_seconds
    with httpx.Client(headers=headers, follow_redirects=False) as client:
        fetcher = Fetcher(client, base, deadline, settings.cds_fhir_timeout_seconds)

        def one(key: str) -> tuple[str, list[RawEntry], str | None]:
            first = given.get(key)
            if first is None:
                first = fetcher.get(f"{base}/{missing[key]}", f"fetched.{key}")
            return _collect(key, first, fetcher, limits, _wanted(templates[key]))

        keys = [*given, *missing]
        with ThreadPoolExecutor(max_workers=min(8, len(keys))) as pool:
            return list(pool.map(one, keys))


# --------------------------------------------------------------------------------------------
# Compute and answer
# --------------------------------------------------------------------------------------------


def _default_inputs(settings: Settings) -> tuple[Preferences, Weights]:
    return Preferences(region=settings.cds_region), Weights(ratings=dict(DEFAULT_RATINGS))


def _rank(
    snapshot: CatalogSnapshot, case: DerivedCase, condition_id: str, settings: Settings
) -> Result | None:
    preferences, weights = _default_inputs(settings)
    try:
        return rank(
            snapshot,
            case.patient_case(condition_id),
            preferences,
            weights,
            method=Method.WEIGHTED_SUM,
        )
    except ScoringError as exc:
        log.warning("CDS scoring failed for %s: %s", condition_id, exc)
        return None


def call_service(
    request: CdsRequest,
    spec: ServiceSpec,
    *,
    codes: FhirCodeLists,
    snapshot: CatalogSnapshot,
    settings: Settings,
    today: datetime | None = None,
) -> CardsOut:
    if request.hook != spec.hook:
        raise BadHookRequest(f"Service {spec.id} answers the {spec.hook} hook, not {request.hook}.")
    patient_id = request.context.get("patientId")
    if not isinstance(patient_id, str) or not FHIR_ID.match(patient_id):
        raise BadHookRequest("context.patientId must be a FHIR resource id.")
    gathered = gather(request, spec, codes, settings)
    as_of = (today or datetime.now(UTC)).date()
    resources, skipped = parse_resources(gathered.entries, strict=False, codes=codes)
    drafts, draft_skipped = parse_resources(gathered.draft_entries, strict=False, codes=codes)
    derived = derive_case(
        [*resources, *drafts],
        codes,
        as_of=as_of,
        patient_id=patient_id,
        skipped=[*skipped, *draft_skipped],
    )
    derived.notes.extend(gathered.notes)
    source = CardSource.for_settings(settings, snapshot)
    conditions = [c.condition_id for c in derived.conditions][:MAX_CONDITIONS]
    if not conditions:
        return CardsOut(cards=[])
    results = {cid: _rank(snapshot, derived, cid, settings) for cid in conditions}
    ranked = {cid: r for cid, r in results.items() if r is not None}
    if not spec.orders:
        return patient_view_cards(derived, ranked, snapshot, codes, settings, source)

    ordered = _ordered(request, spec, drafts, derived)
    if not ordered:
        return CardsOut(cards=[])
    return order_cards(derived, ordered, ranked, snapshot, codes, settings, source)


def _ordered(
    request: CdsRequest, spec: ServiceSpec, drafts: list[Readable], derived: DerivedCase
) -> list[DerivedOrder]:
    """The derived orders that are this hook's drafts (for order-select, the selected ones).

    A draft without an id is still checked: order-sign checks every draft, and order-select
    cannot tell whether an id-less draft is selected, so it checks it too rather than stay
    silent about an order it was shown."""
    labels = {d.label for d in drafts}
    selections = request.context.get("selections")
    selected: set[str] | None = None
    if spec.hook == "order-select" and isinstance(selections, list) and selections:
        selected = {str(s) for s in selections}
    found = []
    for order in derived.orders:
        if order.source not in labels:
            continue  # a current order from the record, not a draft of this hook
        if selected is not None and order.resource_id is not None:
            if order.resource_id not in selected:
                continue
        found.append(order)
    return found
