"""Explicit read queries for the catalog API; each says exactly what it loads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from db.models import (
    Condition,
    ConditionCode,
    Indication,
    RiskFactor,
    Source,
    Therapy,
)


def therapy_record_query() -> Select[Therapy]:
    """Therapies with the rows their catalog record holds (its indications are records of
    their own): what the snapshot, the export and a release read."""
    return select(Therapy).options(
        selectinload(Therapy.adverse_effects),
        selectinload(Therapy.risk_rules),
        selectinload(Therapy.costs),
        selectinload(Therapy.availability),
    )


def list_therapy_records(session: Session) -> Sequence[Therapy]:
    return session.scalars(therapy_record_query().order_by(Therapy.id)).all()


def _therapy_query() -> Select[Therapy]:
    """A therapy as the API shows it: its record and its indications."""
    return therapy_record_query().options(
        selectinload(Therapy.indications).selectinload(Indication.figures)
    )


def list_therapies(
    session: Session,
    *,
    condition_id: str | None = None,
    modality: str | None = None,
    code: str | None = None,
    system: str | None = None,
) -> Sequence[Therapy]:
    """Therapies, optionally those with an indication for a condition (given by id or code)."""
    query = _therapy_query().order_by(Therapy.id)
    if modality is not None:
        query = query.where(Therapy.modality == modality)
    condition_ids: list[str] | None = None
    if condition_id is not None:
        condition_ids = [condition_id]
    if code is not None:
        matched = [c.id for c in find_conditions_by_code(session, code=code, system=system)]
        condition_ids = (
            matched if condition_ids is None else [c for c in condition_ids if c in matched]
        )
    if condition_ids is not None:
        query = query.where(
            Therapy.id.in_(
                select(Indication.therapy_id).where(Indication.condition_id.in_(condition_ids))
            )
        )
    return session.scalars(query).all()


def get_therapy(session: Session, therapy_id: str) -> Therapy | None:
    return session.scalars(_therapy_query().where(Therapy.id == therapy_id)).first()


def condition_query() -> Select[Condition]:
    """Conditions with their codes."""
    return select(Condition).options(selectinload(Condition.codes))


def list_conditions(
    session: Session, *, code: str | None = None, system: str | None = None
) -> Sequence[Condition]:
    query = condition_query().order_by(Condition.id)
    if code is not None:
        ids = [c.id for c in find_conditions_by_code(session, code=code, system=system)]
        query = query.where(Condition.id.in_(ids))
    return session.scalars(query).all()


def get_condition(session: Session, condition_id: str) -> Condition | None:
    return session.scalars(condition_query().where(Condition.id == condition_id)).first()


def find_conditions_by_code(
    session: Session, *, code: str, system: str | None = None
) -> Sequence[Condition]:
    """Conditions carrying this code; exact match, case-insensitive for ICD-10-CM letters."""
    query = select(ConditionCode.condition_id).where(ConditionCode.code == code.strip().upper())
    if system is not None:
        query = query.where(ConditionCode.system == system)
    ids = set(session.scalars(query))
    if not ids:
        return []
    return session.scalars(
        condition_query().where(Condition.id.in_(ids)).order_by(Condition.id)
    ).all()


def indication_query() -> Select[Indication]:
    """Indications with their outcome figures."""
    return select(Indication).options(selectinload(Indication.figures))


def indications_for_condition(session: Session, condition_id: str) -> Sequence[Indication]:
    return session.scalars(
        indication_query()
        .where(Indication.condition_id == condition_id)
        .order_by(Indication.therapy_id)
    ).all()


def list_indications(
    session: Session, *, therapy_id: str | None = None, condition_id: str | None = None
) -> Sequence[Indication]:
    query = indication_query()
    if therapy_id is not None:
        query = query.where(Indication.therapy_id == therapy_id)
    if condition_id is not None:
        query = query.where(Indication.condition_id == condition_id)
    return session.scalars(query.order_by(Indication.therapy_id, Indication.condition_id)).all()


def get_indication(session: Session, indication_id: int) -> Indication | None:
    return session.scalars(indication_query().where(Indication.id == indication_id)).first()


def get_sources(session: Session, ids: set[str]) -> Sequence[Source]:
    if not ids:
        return []
    return session.scalars(select(Source).where(Source.id.in_(ids)).order_by(Source.id)).all()


def list_sources(session: Session) -> Sequence[Source]:
    return session.scalars(select(Source).order_by(Source.id)).all()


def list_risk_factors(session: Session) -> Sequence[RiskFactor]:
    return session.scalars(select(RiskFactor).order_by(RiskFactor.id)).all()
