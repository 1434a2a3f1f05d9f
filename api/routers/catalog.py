"""Catalog reads: therapies, conditions, indications, sources, risk factors, version, audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CuratorDep, ReaderDep, RowId, SessionDep
from api.errors import NotFound
from api.schemas.catalog import (
    AuditList,
    AuditRead,
    CatalogVersionRead,
    ConditionList,
    ConditionRead,
    IndicationList,
    IndicationRead,
    RiskFactorList,
    RiskFactorRead,
    SourceList,
    SourceRead,
    TherapyList,
    TherapyRead,
)
from api.views import condition_read, therapies_read, therapy_read
from db import queries
from db.versioning import current_version, list_audit

router = APIRouter(prefix="/v1", tags=["catalog"])


def etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = f'"{revision}"'


@router.get("/therapies", operation_id="list_therapies")
def list_therapies(
    session: SessionDep,
    _reader: ReaderDep,
    condition: Annotated[
        str | None, Query(description="Only therapies with an indication for this condition id")
    ] = None,
    modality: Annotated[str | None, Query(description="e.g. immunoglobulin, apheresis")] = None,
    code: Annotated[
        str | None, Query(description="A condition code, e.g. G61.81 (ICD-10-CM)")
    ] = None,
    system: Annotated[str | None, Query(description="The code system of `code`")] = None,
) -> TherapyList:
    """List therapies with their indications, costs, availability, risk rules and sources."""
    rows = queries.list_therapies(
        session, condition_id=condition, modality=modality, code=code, system=system
    )
    return TherapyList(items=therapies_read(session, rows))


@router.get("/therapies/{therapy_id}", operation_id="get_therapy")
def get_therapy(
    therapy_id: str, session: SessionDep, _reader: ReaderDep, response: Response
) -> TherapyRead:
    """One therapy with everything the catalog holds about it."""
    row = queries.get_therapy(session, therapy_id)
    if row is None:
        raise NotFound(f"No therapy '{therapy_id}'. GET /v1/therapies lists the valid ids.")
    etag(response, row.revision)
    return therapy_read(session, row)


@router.get("/conditions", operation_id="list_conditions")
def list_conditions(
    session: SessionDep,
    _reader: ReaderDep,
    code: Annotated[str | None, Query(description="A code, e.g. G61.81 or a SNOMED CT id")] = None,
    system: Annotated[str | None, Query(description="The code system of `code`")] = None,
) -> ConditionList:
    """List conditions with their codes and the indications the catalog holds."""
    rows = queries.list_conditions(session, code=code, system=system)
    return ConditionList(items=[condition_read(session, row) for row in rows])


@router.get("/conditions/{condition_id}", operation_id="get_condition")
def get_condition(
    condition_id: str, session: SessionDep, _reader: ReaderDep, response: Response
) -> ConditionRead:
    """One condition with its codes and every indication for it."""
    row = queries.get_condition(session, condition_id)
    if row is None:
        raise NotFound(f"No condition '{condition_id}'. GET /v1/conditions lists the valid ids.")
    etag(response, row.revision)
    return condition_read(session, row)


@router.get("/indications", operation_id="list_indications")
def list_indications(
    session: SessionDep,
    _reader: ReaderDep,
    therapy: str | None = None,
    condition: str | None = None,
) -> IndicationList:
    """List indications (therapy x condition), optionally filtered."""
    rows = queries.list_indications(session, therapy_id=therapy, condition_id=condition)
    return IndicationList(items=[IndicationRead.model_validate(r) for r in rows])


@router.get("/indications/{indication_id}", operation_id="get_indication")
def get_indication(
    indication_id: RowId, session: SessionDep, _reader: ReaderDep, response: Response
) -> IndicationRead:
    """One indication with its outcome figures."""
    row = queries.get_indication(session, indication_id)
    if row is None:
        raise NotFound(f"No indication {indication_id}. GET /v1/indications lists them.")
    etag(response, row.revision)
    return IndicationRead.model_validate(row)


@router.get("/sources", operation_id="list_sources")
def list_sources(session: SessionDep, _reader: ReaderDep) -> SourceList:
    """Every source the catalog cites; `verified: false` marks facts still to confirm."""
    return SourceList(items=[SourceRead.model_validate(s) for s in queries.list_sources(session)])


@router.get("/risk-factors", operation_id="list_risk_factors")
def list_risk_factors(session: SessionDep, _reader: ReaderDep) -> RiskFactorList:
    """The vocabulary accepted in `patient.risk_factors`."""
    return RiskFactorList(
        items=[RiskFactorRead.model_validate(f) for f in queries.list_risk_factors(session)]
    )


@router.get("/catalog/version", operation_id="get_catalog_version")
def get_catalog_version(session: SessionDep, _reader: ReaderDep) -> CatalogVersionRead:
    """The current catalog version (it goes up with every curator change)."""
    return CatalogVersionRead(catalog_version=current_version(session))


@router.get("/audit", operation_id="list_audit")
def get_audit(
    session: SessionDep,
    _curator: CuratorDep,
    entity: str | None = None,
    entity_id: str | None = None,
    since_version: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditList:
    """The append-only audit log, newest first (curators and admins)."""
    rows = list_audit(
        session, entity=entity, entity_id=entity_id, since_version=since_version, limit=limit
    )
    return AuditList(items=[AuditRead.model_validate(r) for r in rows])
