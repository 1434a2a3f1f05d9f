"""CDS Hooks 2.0.1: discovery, service calls and card feedback (see docs/ehr-integration.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.cds.discovery import SERVICES, DiscoveryOut, discovery
from api.cds.jwt import CdsCaller, authenticate
from api.cds.service import CdsRequest, PrefetchUnavailable, call_service, needs_fetch
from api.deps import (
    CuratorDep,
    SessionDep,
    SettingsDep,
    SnapshotDep,
    UnitOfWorkDep,
    get_catalog_cache,
    get_snapshot,
)
from api.direct import DirectRoute, direct, json_body
from api.errors import NotFound
from api.fhir.codes import FhirCodeLists, get_code_lists
from api.schemas.catalog import UtcDateTime
from api.scoring_io import encode
from api.settings import Settings
from db.cds import FeedbackEntry, list_feedback, record_feedback
from scoring.model import CatalogSnapshot

router = APIRouter(tags=["cds-hooks"], route_class=DirectRoute)

CallerDep = Annotated[CdsCaller, Depends(authenticate)]
CodeListsDep = Annotated[FhirCodeLists, Depends(get_code_lists)]


def _service(service_id: str) -> Any:
    spec = SERVICES.get(service_id)
    if spec is None:
        raise NotFound(
            f"No CDS service '{service_id}'. GET /cds-services lists them: " + ", ".join(SERVICES)
        )
    return spec


@router.get(
    "/cds-services",
    operation_id="cds_discovery",
    response_model=DiscoveryOut,
    response_model_exclude_none=True,
)
def cds_discovery(codes: CodeListsDep) -> DiscoveryOut:
    """CDS Hooks discovery: the services, their hooks and prefetch templates."""
    return discovery(codes)


async def _cards(
    service_id: str,
    body: CdsRequest,
    *,
    snapshot: CatalogSnapshot,
    codes: FhirCodeLists,
    settings: Settings,
) -> Response:
    spec = _service(service_id)
    try:
        if needs_fetch(body, spec, codes):
            # Fetching from the EHR's FHIR server blocks: keep it off the event loop.
            cards = await run_in_threadpool(
                call_service, body, spec, codes=codes, snapshot=snapshot, settings=settings
            )
        else:
            # A complete prefetch is pure computation (a few ms): no thread hop.
            cards = call_service(body, spec, codes=codes, snapshot=snapshot, settings=settings)
    except PrefetchUnavailable as exc:
        return JSONResponse(exc.operation_outcome(), status_code=412)
    return Response(encode(cards.body()), media_type="application/json")


async def cds_call_direct(request: Request) -> Response | None:
    """`cds_call` for the usual request (JSON body, no query) without FastAPI's dependency
    solving: a quarter of a 26-resource patient-view's time (bench/ehr.py). None: FastAPI's
    way. The body is read first: once the caller is authenticated (its `jti` recorded), the
    request is answered here."""
    body = await json_body(request, CdsRequest)
    if body is None:
        return None
    await authenticate(request)
    snapshot = await get_snapshot(await get_catalog_cache(request))
    return await _cards(
        request.path_params["service_id"],
        body,
        snapshot=snapshot,
        codes=await get_code_lists(request),
        settings=request.app.state.settings,
    )


@router.post(
    "/cds-services/{service_id}",
    operation_id="cds_call",
    responses={
        200: {"description": 'Cards (`{"cards": []}` when there is no advice)'},
        401: {"description": "The EHR's JWT is missing or not valid"},
        412: {"description": "Required FHIR data could be neither prefetched nor fetched"},
    },
)
@direct(cds_call_direct)
async def cds_call(
    service_id: str,
    body: CdsRequest,
    caller: CallerDep,
    snapshot: SnapshotDep,
    codes: CodeListsDep,
    settings: SettingsDep,
) -> Response:
    """Call a CDS service (CDS Hooks 2.0.1); answers with cards."""
    return await _cards(service_id, body, snapshot=snapshot, codes=codes, settings=settings)


@router.get("/cds-services/{service_id}", include_in_schema=False)
def cds_get_service(service_id: str) -> None:
    """A service URL answers POST only; like the reference services, GET is a 404."""
    raise NotFound(f"CDS services are called with POST /cds-services/{service_id}.")


# --------------------------------------------------------------------------------------------
# Feedback
# --------------------------------------------------------------------------------------------


class FeedbackCoding(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(min_length=1, max_length=100)
    system: str = Field(min_length=1, max_length=300)
    display: str | None = Field(default=None, max_length=1000)


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: FeedbackCoding | None = None
    userComment: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _something(self) -> OverrideReason:
        if self.reason is None and not self.userComment:  # cds-fb-3
            raise ValueError("an overrideReason needs reason or userComment")
        return self


class AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=64)


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]  # cds-fb-1
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime

    @model_validator(mode="after")
    def _accepted_names_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:  # cds-fb-2
            raise ValueError("an accepted outcome needs acceptedSuggestions")
        if self.outcomeTimestamp.tzinfo is None:
            raise ValueError("outcomeTimestamp must carry a time zone (RFC 3339, e.g. ...Z)")
        try:
            self.outcomeTimestamp = self.outcomeTimestamp.astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is past year 9999 in UTC
            raise ValueError("outcomeTimestamp is outside the years 1-9999 in UTC") from None
        return self


class FeedbackRequest(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=500)


@router.post(
    "/cds-services/{service_id}/feedback",
    operation_id="cds_feedback",
    response_class=Response,
    responses={200: {"description": "Stored (repeats are ignored)"}},
)
def cds_feedback(
    service_id: str, body: FeedbackRequest, caller: CallerDep, uow: UnitOfWorkDep
) -> Response:
    """Record what the clinician did with TADA's cards (accepted or overridden)."""
    _service(service_id)
    entries = [
        FeedbackEntry(
            service_id=service_id,
            card_uuid=item.card,
            outcome=item.outcome,
            outcome_timestamp=item.outcomeTimestamp,
            accepted_suggestions=[s.id for s in item.acceptedSuggestions]
            if item.acceptedSuggestions
            else None,
            override_reason_system=(
                item.overrideReason.reason.system
                if item.overrideReason and item.overrideReason.reason
                else None
            ),
            override_reason_code=(
                item.overrideReason.reason.code
                if item.overrideReason and item.overrideReason.reason
                else None
            ),
            override_reason_display=(
                item.overrideReason.reason.display
                if item.overrideReason and item.overrideReason.reason
                else None
            ),
            user_comment=item.overrideReason.userComment if item.overrideReason else None,
            issuer=caller.issuer,
            tenant=caller.tenant,
        )
        for item in body.feedback
    ]
    record_feedback(uow.session, entries=entries, received_at=datetime.now(UTC))
    uow.commit()
    return Response(status_code=200)


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service_id: str
    card_uuid: str
    outcome: str
    outcome_timestamp: UtcDateTime
    accepted_suggestions: list[Any] | None
    override_reason_system: str | None
    override_reason_code: str | None
    override_reason_display: str | None
    user_comment: str | None
    issuer: str | None
    tenant: str | None
    received_at: UtcDateTime


class FeedbackList(BaseModel):
    items: list[FeedbackRead]
    total: int


@router.get(
    "/cds-services/{service_id}/feedback",
    operation_id="cds_feedback_list",
    response_model=FeedbackList,
)
def cds_feedback_list(
    service_id: str,
    session: SessionDep,
    _curator: CuratorDep,
    card: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> FeedbackList:
    """Card feedback for curators to review, newest first."""
    _service(service_id)
    rows, total = list_feedback(
        session, service_id=service_id, card_uuid=card, limit=limit, offset=offset
    )
    return FeedbackList(items=[FeedbackRead.model_validate(r) for r in rows], total=total)
