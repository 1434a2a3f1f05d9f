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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.cds.cards import CardSource, CardsOut, order_cards, patient_view_cards
from api.cds.discovery import REQUIRED_KEYS, ServiceSpec, prefetch_templates
from api.errors import ProblemError
from api.fhir.codes import FhirCodeLists
from api.fhir.intake import DerivedCase, bundle_entries, derive_case, parse_resources
from api.settings import Settings
from scoring.engine import rank
from scoring.errors import ScoringError
from scoring.model import CatalogSnapshot, Method, Preferences, Result, Weights
from scoring.weights import DEFAULT_RATINGS

log = logging.getLogger("tada.cds")

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
MAX_PAGES = 5
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
    raws: list[tuple[str, Any]] = field(default_factory=list)
    draft_raws: list[tuple[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _key_value(value: Any) -> tuple[bool, list[tuple[str, Any]]]:
    """(usable, resources) for one prefetch value; an OperationOutcome is not usable."""
    if value is None:
        return True, []
    if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
        return False, []
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        entries, _ = bundle_entries(value, check_shell=False)
        return True, entries
    return True, [("resource", value)]


def _fetch(
    client: httpx.Client, base: str, path: str, key: str
) -> tuple[str, list[tuple[str, Any]] | None, str | None]:
    """GET one template (following `next` links on the same server, a few pages at most)."""
    url: str | None = f"{base}/{path}"
    resources: list[tuple[str, Any]] = []
    pages = 0
    while url and pages < MAX_PAGES:
        pages += 1
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            return key, None, f"{type(exc).__name__} from the FHIR server"
        if response.status_code == 404 and key == "patient":
            return key, [], None
        if response.status_code != 200:
            return key, None, f"the FHIR server answered {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            return key, None, "the FHIR server answered with something other than JSON"
        usable, found = _key_value(body)
        if not usable:
            return key, None, "the FHIR server answered with an OperationOutcome"
        resources.extend((f"{key}:{where}", raw) for where, raw in found)
        url = None
        if isinstance(body, dict) and body.get("resourceType") == "Bundle":
            links = body.get("link")
            for link in links if isinstance(links, list) else []:
                if not isinstance(link, dict):
                    continue
                nxt = link.get("url")
                if link.get("relation") == "next" and isinstance(nxt, str):
                    # The token goes only to the server the EHR named.
                    url = nxt if nxt.startswith(base + "/") else None
    return key, resources, None


def needs_fetch(request: CdsRequest, spec: ServiceSpec, codes: FhirCodeLists) -> bool:
    """Whether answering may need network I/O (a key missing or failed in the prefetch)."""
    prefetch = request.prefetch or {}
    for key in prefetch_templates(codes, orders=spec.orders):
        if key not in prefetch:
            return True
        value = prefetch[key]
        if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
            return True
    return False


def gather(
    request: CdsRequest, spec: ServiceSpec, codes: FhirCodeLists, settings: Settings
) -> Gathered:
    patient_id = str(request.context.get("patientId", ""))
    templates = prefetch_templates(codes, orders=spec.orders)
    prefetch = request.prefetch or {}
    out = Gathered()
    missing: dict[str, str] = {}
    for key, template in templates.items():
        if key in prefetch:
            usable, found = _key_value(prefetch[key])
            if usable:
                out.raws.extend((f"prefetch.{key}.{w}", raw) for w, raw in found)
                continue
        missing[key] = template.replace("{{context.patientId}}", patient_id)

    if missing:
        if not request.fhirServer:
            required = sorted(REQUIRED_KEYS & set(missing))
            if required:
                raise PrefetchUnavailable(
                    required,
                    "The prefetch did not include "
                    + ", ".join(required)
                    + " and no fhirServer was given to fetch it.",
                )
            out.notes.extend(f"{k}: not in prefetch and no fhirServer" for k in sorted(missing))
        else:
            _fetch_missing(request, missing, out, settings)

    if spec.orders:
        drafts = request.context.get("draftOrders")
        entries, problems = bundle_entries(drafts, "context.draftOrders")
        if problems and not entries:
            raise BadHookRequest(
                f"context.draftOrders must be a FHIR Bundle: {problems[0].message}",
                errors=[p.as_error() for p in problems],
            )
        out.draft_raws = entries
    return out


def _fetch_missing(
    request: CdsRequest, missing: dict[str, str], out: Gathered, settings: Settings
) -> None:
    base = str(request.fhirServer).rstrip("/")
    scheme = urlsplit(base).scheme
    if scheme not in {"http", "https"} or (
        settings.environment == "production" and scheme != "https"
    ):
        raise BadHookRequest("fhirServer must be an https URL")
    headers = {"Accept": "application/fhir+json, application/json"}
    if request.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
    timeout = httpx.Timeout(settings.cds_fhir_timeout_seconds)
    with (
        httpx.Client(headers=headers, timeout=timeout, follow_redirects=False) as client,
        ThreadPoolExecutor(max_workers=min(8, len(missing))) as pool,
    ):
        results = list(
            pool.map(lambda item: _fetch(client, base, item[1], item[0]), missing.items())
        )
    failed: dict[str, str] = {}
    for key, found, why in results:
        if found is None:
            failed[key] = why or "failed"
        else:
            out.raws.extend(found)
    required = sorted(REQUIRED_KEYS & set(failed))
    if required:
        raise PrefetchUnavailable(
            required,
            "Could not fetch "
            + "; ".join(f"{k} ({failed[k]})" for k in required)
            + f" from {base}.",
        )
    out.notes.extend(f"{k}: could not be fetched ({why})" for k, why in sorted(failed.items()))


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
    resources, skipped = parse_resources(gathered.raws, strict=False)
    drafts, draft_skipped = parse_resources(gathered.draft_raws, strict=False)
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

    draft_refs = {f"{d.get_resource_type()}/{d.id}" for d in drafts if d.id}
    selections = request.context.get("selections")
    if spec.hook == "order-select" and isinstance(selections, list) and selections:
        draft_refs &= {str(s) for s in selections}
    ordered = [o for o in derived.orders if o.source in draft_refs]
    if not ordered:
        return CardsOut(cards=[])
    return order_cards(derived, ordered, ranked, snapshot, codes, settings, source)
