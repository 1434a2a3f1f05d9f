"""Decision records: what was decided in a visit, on which evidence, replayable exactly."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError

from api.deps import ClinicianDep, SettingsDep, SnapshotDep, UnitOfWorkDep
from api.engine_version import engine_version
from api.errors import Conflict, InvalidInput, NotFound, ProblemError
from api.release_cache import ReleaseCache
from api.replay import result_changes, result_digest
from api.routers.score import score_one
from api.schemas.decisions import (
    Changes,
    DecisionCreate,
    DecisionCreated,
    DecisionList,
    DecisionRead,
    ReplayRead,
)
from api.schemas.score import ScoreRequest
from api.scoring_io import check_chosen, encode
from db import decisions
from db.models import DecisionRecord
from db.releases import ReleaseNotRecorded, ensure_baseline
from scoring.model import CatalogSnapshot

router = APIRouter(prefix="/v1", tags=["decisions"])
log = logging.getLogger("tada.decisions")

DecisionIdPath = Annotated[str, Path(min_length=1, max_length=36)]


def _check_chosen(body: DecisionCreate, result: dict[str, Any]) -> None:
    if body.status == "decided":
        check_chosen(body.chosen_therapy_id, result)
    elif body.chosen_therapy_id is not None:
        raise InvalidInput(
            "A deferred decision has no chosen option: send chosen_therapy_id null.",
            errors=[
                {
                    "path": "body/chosen_therapy_id",
                    "message": "must be null",
                    "type": "none_required",
                }
            ],
        )


@router.post(
    "/decisions",
    operation_id="create_decision",
    status_code=201,
    response_model=DecisionCreated,
)
def create_decision(
    body: DecisionCreate,
    uow: UnitOfWorkDep,
    clinician: ClinicianDep,
    snapshot: SnapshotDep,
    settings: SettingsDep,
) -> DecisionCreated:
    """Record what was decided (or deferred) and the result it was decided on (clinicians)."""
    result = score_one(body.request, snapshot)
    canonical = encode(result)
    _check_chosen(body, result)
    # A database migrated with its catalog in it and served without `tada serve`: record the
    # first release now, so this decision can be replayed (a no-op once one exists).
    ensure_baseline(uow.session)
    try:
        row = decisions.create_decision(
            uow.session,
            actor=clinician.actor,
            status=body.status,
            chosen_therapy_id=body.chosen_therapy_id,
            participants=list(body.participants),
            note=body.note,
            external_ref_hmac=(
                decisions.ref_digest(settings.decision_ref_key, body.external_ref)
                if body.external_ref is not None
                else None
            ),
            corrects=body.corrects,
            request=body.request.model_dump(mode="json"),
            result=result,
            catalog_version=result["catalog_version"],
            engine_version=engine_version(),
            result_digest=result_digest(canonical),
        )
    except decisions.UnknownDecision as exc:
        raise InvalidInput(
            f"corrects names no decision record ({exc}).",
            errors=[
                {"path": "body/corrects", "message": "unknown decision id", "type": "not_found"}
            ],
        ) from exc
    created = _created(row)
    uow.commit()
    log.info("decision %s recorded by %s (%s)", created.id, clinician.actor, body.status)
    return created


def _created(row: DecisionRecord) -> DecisionCreated:
    return DecisionCreated.model_validate(row, from_attributes=True)


def _read(row: DecisionRecord, corrected_by: list[str]) -> DecisionRead:
    return DecisionRead(
        **_created(row).model_dump(),
        status="decided" if row.status == "decided" else "deferred",
        chosen_therapy_id=row.chosen_therapy_id,
        participants=list(row.participants),
        note=row.note,
        corrects=row.corrects,
        corrected_by=corrected_by,
        recorded_by=row.actor,
        request=row.request,
        result=row.result,
    )


def _load(uow: UnitOfWorkDep, decision_id: str, actor: str, action: str) -> DecisionRecord:
    try:
        return decisions.read_decision(
            uow.session, decision_id=decision_id, actor=actor, action=action
        )
    except decisions.UnknownDecision as exc:
        raise NotFound(f"No decision record '{decision_id}'.") from exc


@router.get("/decisions/{decision_id}", operation_id="read_decision", response_model=DecisionRead)
def read_decision(
    decision_id: DecisionIdPath, uow: UnitOfWorkDep, clinician: ClinicianDep
) -> DecisionRead:
    """One decision record (clinicians; every read is logged)."""
    row = _load(uow, decision_id, clinician.actor, "read")
    read = _read(row, decisions.corrected_by(uow.session, [row.id])[row.id])
    uow.commit()
    log.info("decision %s read by %s", decision_id, clinician.actor)
    return read


@router.get("/decisions", operation_id="find_decisions", response_model=DecisionList)
def find_decisions(
    external_ref: Annotated[str, Query(min_length=1, max_length=200)],
    uow: UnitOfWorkDep,
    clinician: ClinicianDep,
    settings: SettingsDep,
) -> DecisionList:
    """The records made under an external reference, oldest first (matched by its HMAC)."""
    rows = decisions.find_decisions(
        uow.session,
        external_ref_hmac=decisions.ref_digest(settings.decision_ref_key, external_ref),
        actor=clinician.actor,
    )
    corrections = decisions.corrected_by(uow.session, [r.id for r in rows])
    items = DecisionList(items=[_read(r, corrections[r.id]) for r in rows])
    uow.commit()
    log.info("decision lookup by %s: %d records", clinician.actor, len(rows))
    return items


def _release(request: Request, live: CatalogSnapshot, version: int) -> CatalogSnapshot:
    if live.version == version:
        return live
    cache: ReleaseCache = request.app.state.release_cache
    try:
        return cache.get(version)
    except ReleaseNotRecorded as exc:
        raise Conflict(f"This record cannot be replayed: {exc}.") from exc


def _rescore(stored: dict[str, Any], snapshot: CatalogSnapshot) -> dict[str, Any]:
    try:
        request = ScoreRequest.model_validate(stored)
    except ValidationError as exc:
        raise Conflict(
            "The stored request no longer matches the score request schema; "
            f"it cannot be replayed ({exc.error_count()} problems)."
        ) from exc
    return score_one(request, snapshot)


@router.post(
    "/decisions/{decision_id}/replay",
    operation_id="replay_decision",
    response_model=ReplayRead,
    response_model_exclude_none=True,
)
def replay_decision(
    decision_id: DecisionIdPath,
    request: Request,
    uow: UnitOfWorkDep,
    clinician: ClinicianDep,
    live: SnapshotDep,
    against: Annotated[
        Literal["current"] | None,
        Query(description="`current`: also compare with the result on today's catalog"),
    ] = None,
) -> ReplayRead:
    """Re-score a record on the catalog as it was; say whether the result is identical."""
    row = _load(uow, decision_id, clinician.actor, "replay")
    version, recorded, stored = row.catalog_version, row.result_digest, row.request
    then_result = row.result
    made_by = row.engine_version
    uow.commit()
    replayed = _rescore(stored, _release(request, live, version))
    digest = result_digest(encode(replayed))
    reply = ReplayRead(
        identical=digest == recorded,
        catalog_version=version,
        result_digest=digest,
        engine_changed=made_by != engine_version(),
    )
    if against == "current":
        try:
            now = _rescore(stored, live)
        except ProblemError as exc:
            raise Conflict(f"It cannot be scored on today's catalog: {exc.detail}") from exc
        reply.changes = Changes.model_validate(result_changes(then_result, now))
    return reply
