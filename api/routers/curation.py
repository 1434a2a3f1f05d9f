"""Curator writes. Each one is audited, bumps the catalog version and needs a curator key.

Updates and deletes need `If-Match` with the record's ETag (its revision) from a previous read:
a curator who edits a stale copy gets 412 instead of silently overwriting someone else's change.

The routes come from one definition per entity (`Curated`): its schemas, its service kind
(`db.curation`), its paths and the words of its OpenAPI operations. A refused write raises
`db.curation`'s errors, which one handler answers (`api.errors.curation_problem`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import CuratorDep, Principal, RowId, UnitOfWork, UnitOfWorkDep
from api.errors import InvalidInput, PreconditionRequired
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


def changes_of(patch: BaseModel) -> dict[str, Any]:
    changes = patch.model_dump(exclude_unset=True, mode="python")
    if not changes:
        raise InvalidInput("The update names no field to change.")
    return changes


@dataclass(frozen=True)
class Curated:
    """One catalog entity's curator routes: `POST collection`, `PATCH` and `DELETE item`."""

    name: str  # operation ids are create_<name>, update_<name>, delete_<name>
    kind: curation.Kind[Any, Any]
    schemas: tuple[type[BaseModel], type[BaseModel], type[BaseModel]]  # create, update, read
    collection: str  # where records are created, e.g. /therapies/{therapy_id}/costs
    item: str  # the record, e.g. /costs/{cost_id}
    id_type: Any  # the item's path parameter type
    docs: tuple[str, str, str]  # create, update, delete
    shape: Callable[[Session, Any], BaseModel] | None = None  # default: read_schema of the row

    @property
    def read_schema(self) -> type[BaseModel]:
        return self.schemas[2]

    @property
    def id_name(self) -> str:
        return self.item.rsplit("{", 1)[1].rstrip("}")

    def read(self, session: Session, row: Any) -> BaseModel:
        return self.shape(session, row) if self.shape else self.read_schema.model_validate(row)

    def include(self, into: APIRouter) -> None:
        self._create(into)
        self._update(into)
        self._delete(into)

    def _create(self, into: APIRouter) -> None:
        def endpoint(
            body: BaseModel, uow: UnitOfWork, curator: Principal, response: Response, **path: Any
        ) -> BaseModel:
            row = curation.create(uow.session, self.kind, actor=curator.actor, entry=body, **path)
            return self._answer(uow, row, response)

        parent = [_param(p, str) for p in re.findall(r"{(\w+)}", self.collection)]
        _route(
            into,
            endpoint,
            [_param("body", self.schemas[0]), *_common(), *parent],
            path=self.collection,
            method="POST",
            name=f"create_{self.name}",
            doc=self.docs[0],
            response_model=self.read_schema,
            status_code=status.HTTP_201_CREATED,
        )

    def _update(self, into: APIRouter) -> None:
        def endpoint(
            body: BaseModel,
            uow: UnitOfWork,
            curator: Principal,
            response: Response,
            if_match: str | None = None,
            **path: Any,
        ) -> BaseModel:
            row = curation.update(
                uow.session,
                self.kind,
                actor=curator.actor,
                record_id=path[self.id_name],
                changes=changes_of(body),
                expected_revision=revision_from(if_match),
            )
            return self._answer(uow, row, response)

        _route(
            into,
            endpoint,
            [
                _param(self.id_name, self.id_type),
                _param("body", self.schemas[1]),
                *_common(),
                _param("if_match", IfMatch, default=None),
            ],
            path=self.item,
            method="PATCH",
            name=f"update_{self.name}",
            doc=self.docs[1],
            response_model=self.read_schema,
        )

    def _delete(self, into: APIRouter) -> None:
        def endpoint(
            uow: UnitOfWork, curator: Principal, if_match: str | None = None, **path: Any
        ) -> None:
            curation.delete(
                uow.session,
                self.kind,
                actor=curator.actor,
                record_id=path[self.id_name],
                expected_revision=revision_from(if_match),
            )
            uow.commit()

        _route(
            into,
            endpoint,
            [
                _param(self.id_name, self.id_type),
                _param("uow", UnitOfWorkDep),
                _param("curator", CuratorDep),
                _param("if_match", IfMatch, default=None),
            ],
            path=self.item,
            method="DELETE",
            name=f"delete_{self.name}",
            doc=self.docs[2],
            response_model=None,
            status_code=status.HTTP_204_NO_CONTENT,
        )

    def _answer(self, uow: UnitOfWork, row: Any, response: Response) -> BaseModel:
        """The record as readers see it, shaped before the commit; its revision as the ETag."""
        read = self.read(uow.session, row)
        uow.commit()
        etag(response, row.revision)
        return read


def _param(name: str, annotation: Any, **default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=annotation,
        default=default.get("default", inspect.Parameter.empty),
    )


def _common() -> list[inspect.Parameter]:
    return [
        _param("uow", UnitOfWorkDep),
        _param("curator", CuratorDep),
        _param("response", Response),
    ]


def _route(
    into: APIRouter,
    endpoint: Callable[..., Any],
    parameters: list[inspect.Parameter],
    *,
    path: str,
    method: str,
    name: str,
    doc: str,
    response_model: Any,
    status_code: int = status.HTTP_200_OK,
) -> None:
    """Register `endpoint` under the signature FastAPI should read (path names, schemas)."""
    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = name
    endpoint.__doc__ = doc
    into.add_api_route(
        path,
        endpoint,
        methods=[method],
        operation_id=name,
        name=name,
        response_model=response_model,
        status_code=status_code,
    )


CURATED = [
    Curated(
        "source", curation.SOURCE, (SourceCreate, SourceUpdate, SourceRead),
        "/sources", "/sources/{source_id}", str,
        ("Add a source (citation) that catalog records can cite.",
         "Change a source, e.g. mark a fact verified.",
         "Remove a source that no catalog record cites."),
    ),
    Curated(
        "therapy", curation.THERAPY, (TherapyCreate, TherapyUpdate, TherapyRead),
        "/therapies", "/therapies/{therapy_id}", str,
        ("Add a therapy with its administration, adverse effects, rules, costs and availability.",
         "Change a therapy's own fields (its costs, rules... have their own endpoints).",
         "Remove a therapy and everything recorded under it."),
        shape=therapy_read,
    ),
    Curated(
        "condition", curation.CONDITION, (ConditionCreate, ConditionUpdate, ConditionRead),
        "/conditions", "/conditions/{condition_id}", str,
        ("Add a condition with its codes.", "Change a condition's name, summary, source or codes.",
         "Remove a condition and its indications."),
        shape=condition_read,
    ),
    Curated(
        "indication", curation.INDICATION, (IndicationCreate, IndicationUpdate, IndicationRead),
        "/indications", "/indications/{indication_id}", RowId,
        ("Record where a therapy stands for a condition, with its evidence and source.",
         "Change an indication (status, evidence, figures...).", "Remove an indication."),
    ),
    Curated(
        "cost", curation.COST, (CostCreate, CostUpdate, CostRead),
        "/therapies/{therapy_id}/costs", "/costs/{cost_id}", RowId,
        ("Add a cost figure for a therapy.", "Change a cost figure.", "Remove a cost figure."),
    ),
    Curated(
        "availability", curation.AVAILABILITY,
        (AvailabilityCreate, AvailabilityUpdate, AvailabilityRead),
        "/therapies/{therapy_id}/availability", "/availability/{availability_id}", RowId,
        ("Record a therapy's availability in a region.",
         "Change availability, e.g. mark a shortage.", "Remove an availability record."),
    ),
    Curated(
        "risk_rule", curation.RISK_RULE, (RiskRuleCreate, RiskRuleUpdate, RiskRuleRead),
        "/therapies/{therapy_id}/risk-rules", "/risk-rules/{rule_id}", str,
        ("Add a machine-readable contraindication or caution.", "Change a risk rule.",
         "Remove a risk rule."),
    ),
]  # fmt: skip

for curated in CURATED:
    curated.include(router)
