"""Curator writes. Each one is audited, bumps the catalog version and needs a curator key.

Updates and deletes need `If-Match` with the record's ETag (its revision) from a previous read:
a curator who edits a stale copy gets 412 instead of silently overwriting someone else's change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel

from api.deps import CuratorDep, RowId, UnitOfWorkDep
from api.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, PreconditionRequired
from api.routers.catalog import etag
from api.schemas.catalog import (
    AvailabilityCreate,
    AvailabilityRead,
    AvailabilityUpdate,
    ConditionCreate,
    ConditionRead,
    ConditionUpdate,
    CostCreate,
    CostRead,
    CostUpdate,
    IndicationCreate,
    IndicationRead,
    IndicationUpdate,
    RiskRuleCreate,
    RiskRuleRead,
    RiskRuleUpdate,
    SourceCreate,
    SourceRead,
    SourceUpdate,
    TherapyCreate,
    TherapyRead,
    TherapyUpdate,
)
from api.views import condition_read, therapy_read
from db import curation
from db.queries import get_condition, get_therapy

router = APIRouter(prefix="/v1", tags=["curation"])

IfMatch = Annotated[
    str | None,
    Header(description='The ETag from your last read of this record, e.g. "3"'),
]


def revision_from(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag from your last read of this record, so a change made "
            "in the meantime by someone else is not overwritten."
        )
    value = if_match.strip().removeprefix("W/").strip('"')
    if not re.fullmatch(r"[0-9]{1,18}", value):  # ASCII digits only; fits a 64-bit column
        raise InvalidInput(f'If-Match must be an ETag such as "3", not {if_match!r}')
    return int(value)


@contextmanager
def curation_errors() -> Iterator[None]:
    try:
        yield
    except curation.RecordNotFound as exc:
        raise NotFound(str(exc)) from exc
    except curation.RevisionMismatch as exc:
        raise PreconditionFailed(
            f"The record changed since you read it (it is now at revision {exc.current}); "
            "reload it and apply your change again.",
            current_revision=exc.current,
        ) from exc
    except curation.RecordExists as exc:
        raise Conflict(str(exc)) from exc
    except curation.InvalidRecord as exc:
        raise InvalidInput(str(exc), errors=exc.errors or None) from exc


def changes_of(patch: BaseModel) -> dict[str, Any]:
    changes = patch.model_dump(exclude_unset=True, mode="python")
    if not changes:
        raise InvalidInput("The update names no field to change.")
    return changes


# --- sources -------------------------------------------------------------------------------


@router.post("/sources", status_code=status.HTTP_201_CREATED, operation_id="create_source")
def create_source(body: SourceCreate, uow: UnitOfWorkDep, curator: CuratorDep) -> SourceRead:
    """Add a source (citation) that catalog records can cite."""
    with curation_errors():
        row = curation.create_source(uow.session, actor=curator.actor, entry=body)
    uow.commit()
    return SourceRead.model_validate(row)


@router.patch("/sources/{source_id}", operation_id="update_source")
def update_source(
    source_id: str,
    body: SourceUpdate,
    uow: UnitOfWorkDep,
    curator: CuratorDep,
    response: Response,
    if_match: IfMatch = None,
) -> SourceRead:
    """Change a source, e.g. mark a fact verified."""
    with curation_errors():
        row = curation.update_source(
            uow.session,
            actor=curator.actor,
            source_id=source_id,
            changes=changes_of(body),
            expected_revision=revision_from(if_match),
        )
    uow.commit()
    etag(response, row.revision)
    return SourceRead.model_validate(row)


# --- therapies -----------------------------------------------------------------------------


@router.post("/therapies", status_code=status.HTTP_201_CREATED, operation_id="create_therapy")
def create_therapy(
    body: TherapyCreate, uow: UnitOfWorkDep, curator: CuratorDep, response: Response
) -> TherapyRead:
    """Add a therapy with its administration, adverse effects, rules, costs and availability."""
    with curation_errors():
        row = curation.create_therapy(uow.session, actor=curator.actor, entry=body)
    read = therapy_read(uow.session, row)
    uow.commit()
    etag(response, read.revision)
    return read


@router.patch("/therapies/{therapy_id}", operation_id="update_therapy")
def update_therapy(
    therapy_id: str,
    body: TherapyUpdate,
    uow: UnitOfWorkDep,
    curator: CuratorDep,
    response: Response,
    if_match: IfMatch = None,
) -> TherapyRead:
    """Change a therapy's own fields (its costs, rules... have their own endpoints)."""
    with curation_errors():
        curation.update_therapy(
            uow.session,
            actor=curator.actor,
            therapy_id=therapy_id,
            changes=changes_of(body),
            expected_revision=revision_from(if_match),
        )
    uow.commit()
    row = get_therapy(uow.session, therapy_id)
    assert row is not None
    etag(response, row.revision)
    return therapy_read(uow.session, row)


@router.delete(
    "/therapies/{therapy_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_therapy"
)
def delete_therapy(
    therapy_id: str, uow: UnitOfWorkDep, curator: CuratorDep, if_match: IfMatch = None
) -> None:
    """Remove a therapy and everything recorded under it."""
    with curation_errors():
        curation.delete_therapy(
            uow.session,
            actor=curator.actor,
            therapy_id=therapy_id,
            expected_revision=revision_from(if_match),
        )
    uow.commit()


# --- conditions ----------------------------------------------------------------------------


@router.post("/conditions", status_code=status.HTTP_201_CREATED, operation_id="create_condition")
def create_condition(
    body: ConditionCreate, uow: UnitOfWorkDep, curator: CuratorDep, response: Response
) -> ConditionRead:
    """Add a condition with its codes."""
    with curation_errors():
        row = curation.create_condition(uow.session, actor=curator.actor, entry=body)
    read = condition_read(uow.session, row)
    uow.commit()
    etag(response, read.revision)
    return read


@router.patch("/conditions/{condition_id}", operation_id="update_condition")
def update_condition(
    condition_id: str,
    body: ConditionUpdate,
    uow: UnitOfWorkDep,
    curator: CuratorDep,
    response: Response,
    if_match: IfMatch = None,
) -> ConditionRead:
    """Change a condition's name, summary, source or codes."""
    with curation_errors():
        curation.update_condition(
            uow.session,
            actor=curator.actor,
            condition_id=condition_id,
            changes=changes_of(body),
            expected_revision=revision_from(if_match),
        )
    uow.commit()
    row = get_condition(uow.session, condition_id)
    assert row is not None
    etag(response, row.revision)
    return condition_read(uow.session, row)


@router.delete(
    "/conditions/{condition_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_condition",
)
def delete_condition(
    condition_id: str, uow: UnitOfWorkDep, curator: CuratorDep, if_match: IfMatch = None
) -> None:
    """Remove a condition and its indications."""
    with curation_errors():
        curation.delete_condition(
            uow.session,
            actor=curator.actor,
            condition_id=condition_id,
            expected_revision=revision_from(if_match),
        )
    uow.commit()


# --- indications ---------------------------------------------------------------------------


@router.post("/indications", status_code=status.HTTP_201_CREATED, operation_id="create_indication")
def create_indication(
    body: IndicationCreate, uow: UnitOfWorkDep, curator: CuratorDep, response: Response
) -> IndicationRead:
    """Record where a therapy stands for a condition, with its evidence and source."""
    with curation_errors():
        row = curation.create_indication(uow.session, actor=curator.actor, entry=body)
    read = IndicationRead.model_validate(row)
    uow.commit()
    etag(response, read.revision)
    return read


@router.patch("/indications/{indication_id}", operation_id="update_indication")
def update_indication(
    indication_id: RowId,
    body: IndicationUpdate,
    uow: UnitOfWorkDep,
    curator: CuratorDep,
    response: Response,
    if_match: IfMatch = None,
) -> IndicationRead:
    """Change an indication (status, evidence, figures...)."""
    with curation_errors():
        row = curation.update_indication(
            uow.session,
            actor=curator.actor,
            indication_id=indication_id,
            changes=changes_of(body),
            expected_revision=revision_from(if_match),
        )
        read = IndicationRead.model_validate(row)
    uow.commit()
    etag(response, read.revision)
    return read


@router.delete(
    "/indications/{indication_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_indication",
)
def delete_indication(
    indication_id: RowId, uow: UnitOfWorkDep, curator: CuratorDep, if_match: IfMatch = None
) -> None:
    """Remove an indication."""
    with curation_errors():
        curation.delete_indication(
            uow.session,
            actor=curator.actor,
            indication_id=indication_id,
            expected_revision=revision_from(if_match),
        )
    uow.commit()


# --- costs, availability, risk rules ------------------------------------------------------


@router.post(
    "/therapies/{therapy_id}/costs", status_code=status.HTTP_201_CREATED, operation_id="create_cost"
)
def create_cost(
    therapy_id: str, body: CostCreate, uow: UnitOfWorkDep, curator: CuratorDep
) -> CostRead:
    """Add a cost figure for a therapy."""
    with curation_errors():
        row = curation.create_cost(
            uow.session, actor=curator.actor, therapy_id=therapy_id, entry=body
        )
    read = CostRead.model_validate(row)
    uow.commit()
    return read


@router.patch("/costs/{cost_id}", operation_id="update_cost")
def update_cost(
    cost_id: RowId,
    body: CostUpdate,
    uow: UnitOfWorkDep,
    curator: CuratorDep,
    response: Response,
    if_match: IfMatch = None,
) -> CostRead:
    """Change a cost figure."""
    with curation_errors():
        row = curation.update_cost(
            uow.session,
            actor=curator.actor,
            cost_id=cost_id,
            changes=changes_of(body),
            expected_revision=revision_from(if_match),
        )
    uow.commit()
    etag(response, row.revision)
    return CostRead.model_validate(row)


@router.delete(
    "/costs/{cost_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_cost"
)
def delete_cost(
    cost_id: RowId, uow: UnitOfWorkDep, curator: CuratorDep, if_match: IfMatch = None
) -> None:
    """Remove a cost figure."""
    with curation_errors():
        curation.delete_cost(
            uow.session,
            actor=curator.actor,
            cost_id=cost_id,
            expected_revision=revision_from(if_match),
        )
    uow.commit()


@router.post(
    "/therapies/{therapy_id}/availability",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_availability",
)
def create_availability(
    therapy_id: str, body: AvailabilityCreate, uow: UnitOfWorkDep, curator: CuratorDep
) -> AvailabilityRead:
    """Record a therapy's availability in a region."""
    with curation_errors():
        row = curation.create_availability(
            uow.session, actor=curator.actor, therapy_id=therapy_id, entry=body
        )
    read = AvailabilityRead.model_validate(row)
    uow.commit()
    return read


@router.patch("/availability/{availability_id}", operation_id="update_availability")
def update_availability(
    availability_id: RowId,
    body: AvailabilityUpdate,
    uow: UnitOfWorkDep,
    curator: CuratorDep,
    response: Response,
    if_match: IfMatch = None,
) -> AvailabilityRead:
    """Change availability, e.g. mark a shortage."""
    with curation_errors():
        row = curation.update_availability(
            uow.session,
            actor=curator.actor,
            availability_id=availability_id,
            changes=changes_of(body),
            expected_revision=revision_from(if_match),
        )
    uow.commit()
    etag(response, row.revision)
    return AvailabilityRead.model_validate(row)


@router.delete(
    "/availability/{availability_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_availability",
)
def delete_availability(
    availability_id: RowId, uow: UnitOfWorkDep, curator: CuratorDep, if_match: IfMatch = None
) -> None:
    """Remove an availability record."""
    with curation_errors():
        curation.delete_availability(
            uow.session,
            actor=curator.actor,
            availability_id=availability_id,
            expected_revision=revision_from(if_match),
        )
    uow.commit()


@router.post(
    "/therapies/{therapy_id}/risk-rules",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_risk_rule",
)
def create_risk_rule(
    therapy_id: str, body: RiskRuleCreate, uow: UnitOfWorkDep, curator: CuratorDep
) -> RiskRuleRead:
    """Add a machine-readable contraindication or caution."""
    with curation_errors():
        row = curation.create_risk_rule(
            uow.session, actor=curator.actor, therapy_id=therapy_id, entry=body
        )
    read = RiskRuleRead.model_validate(row)
    uow.commit()
    return read


@router.patch("/risk-rules/{rule_id}", operation_id="update_risk_rule")
def update_risk_rule(
    rule_id: str,
    body: RiskRuleUpdate,
    uow: UnitOfWorkDep,
    curator: CuratorDep,
    response: Response,
    if_match: IfMatch = None,
) -> RiskRuleRead:
    """Change a risk rule."""
    with curation_errors():
        row = curation.update_risk_rule(
            uow.session,
            actor=curator.actor,
            rule_id=rule_id,
            changes=changes_of(body),
            expected_revision=revision_from(if_match),
        )
    uow.commit()
    etag(response, row.revision)
    return RiskRuleRead.model_validate(row)


@router.delete(
    "/risk-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_risk_rule"
)
def delete_risk_rule(
    rule_id: str, uow: UnitOfWorkDep, curator: CuratorDep, if_match: IfMatch = None
) -> None:
    """Remove a risk rule."""
    with curation_errors():
        curation.delete_risk_rule(
            uow.session,
            actor=curator.actor,
            rule_id=rule_id,
            expected_revision=revision_from(if_match),
        )
    uow.commit()
