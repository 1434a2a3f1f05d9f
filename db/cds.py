"""Persisting CDS Hooks card feedback and seen JWT ids. Functions flush only; the caller
commits once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import CdsFeedback, CdsJwtId


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    service_id: str
    card_uuid: str
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: list[str] | None = None
    override_reason_system: str | None = None
    override_reason_code: str | None = None
    override_reason_display: str | None = None
    user_comment: str | None = None
    issuer: str | None = None
    tenant: str | None = None


def record_feedback(
    session: Session, *, entries: Sequence[FeedbackEntry], received_at: datetime
) -> int:
    """Insert the entries, ignoring any already stored (the spec allows repeats); returns how
    many were new. `ON CONFLICT DO NOTHING` keeps it idempotent under concurrent repeats too."""
    if not entries:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    new = 0
    for entry in entries:
        values: dict[str, Any] = {
            "service_id": entry.service_id,
            "card_uuid": entry.card_uuid,
            "outcome": entry.outcome,
            "outcome_timestamp": entry.outcome_timestamp,
            "accepted_suggestions": (
                [{"id": s} for s in entry.accepted_suggestions]
                if entry.accepted_suggestions
                else None
            ),
            "override_reason_system": entry.override_reason_system,
            "override_reason_code": entry.override_reason_code,
            "override_reason_display": entry.override_reason_display,
            "user_comment": entry.user_comment,
            "issuer": entry.issuer,
            "tenant": entry.tenant,
            "received_at": received_at,
        }
        statement = (
            insert(CdsFeedback)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=["service_id", "card_uuid", "outcome", "outcome_timestamp"]
            )
        )
        result = session.execute(statement)
        new += max(getattr(result, "rowcount", 0) or 0, 0)
    session.flush()
    return new


def list_feedback(
    session: Session,
    *,
    service_id: str | None = None,
    card_uuid: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[CdsFeedback], int]:
    """Newest first, with the total for paging."""
    query = select(CdsFeedback)
    count = select(func.count()).select_from(CdsFeedback)
    if service_id is not None:
        query = query.where(CdsFeedback.service_id == service_id)
        count = count.where(CdsFeedback.service_id == service_id)
    if card_uuid is not None:
        query = query.where(CdsFeedback.card_uuid == card_uuid)
        count = count.where(CdsFeedback.card_uuid == card_uuid)
    rows = session.scalars(
        query.order_by(CdsFeedback.received_at.desc(), CdsFeedback.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, session.scalar(count) or 0


def claim_jti(
    session: Session, *, issuer: str, jti: str, expires_at: datetime, now: datetime
) -> bool:
    """Record (issuer, jti) until `expires_at`; False when it is already held by an unexpired
    token (a replay). Atomic across processes: one INSERT ... ON CONFLICT, whose WHERE lets a
    row left over from an expired token be taken over. Flushes only; the caller commits."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(CdsJwtId).values(issuer=issuer, jti=jti, expires_at=expires_at)
    statement = statement.on_conflict_do_update(
        index_elements=["issuer", "jti"],
        set_={"expires_at": statement.excluded.expires_at},
        where=CdsJwtId.expires_at < now,
    )
    # RETURNING, not rowcount: an ORM session reports -1 rows for an upsert on PostgreSQL.
    return session.execute(statement.returning(CdsJwtId.jti)).first() is not None


def purge_jtis(session: Session, *, before: datetime) -> int:
    """Delete the ids of tokens that expired before `before`."""
    result = session.execute(delete(CdsJwtId).where(CdsJwtId.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
