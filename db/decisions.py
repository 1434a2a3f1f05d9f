"""Decision records: append-only, no direct identifiers, every read audited.

A record keeps the score request (patient facts without identifiers), the result that was shown,
its catalog and engine versions and the SHA-256 of the result's canonical bytes. `external_ref`
(a visit or encounter reference in the clinic's system) is kept only as an HMAC keyed by a
server secret, so the table alone cannot be joined back to a patient. Nothing updates or deletes
a record: a correction is a new record naming the one it corrects.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import DecisionAccess, DecisionRecord


class UnknownDecision(LookupError):
    """No decision record has this id."""


def ref_digest(key: bytes, external_ref: str) -> str:
    return hmac.new(key, external_ref.encode(), hashlib.sha256).hexdigest()


def create_decision(
    session: Session,
    *,
    actor: str,
    status: str,
    chosen_therapy_id: str | None,
    participants: list[str],
    note: str | None,
    external_ref_hmac: str | None,
    corrects: str | None,
    request: dict[str, Any],
    result: dict[str, Any],
    catalog_version: int,
    engine_version: str,
    result_digest: str,
) -> DecisionRecord:
    if corrects is not None and session.get(DecisionRecord, corrects) is None:
        raise UnknownDecision(corrects)
    row = DecisionRecord(
        id=str(uuid.uuid4()),
        created_at=datetime.now(UTC),
        actor=actor,
        status=status,
        chosen_therapy_id=chosen_therapy_id,
        participants=participants,
        note=note,
        external_ref_hmac=external_ref_hmac,
        corrects=corrects,
        request=request,
        result=result,
        catalog_version=catalog_version,
        engine_version=engine_version,
        result_digest=result_digest,
    )
    session.add(row)
    session.flush()
    return row


def read_decision(session: Session, *, decision_id: str, actor: str, action: str) -> DecisionRecord:
    """The record, with the access appended to its access log (the caller commits)."""
    row = session.get(DecisionRecord, decision_id)
    if row is None:
        raise UnknownDecision(decision_id)
    log_access(session, decision_id=row.id, actor=actor, action=action)
    return row


def find_decisions(
    session: Session, *, external_ref_hmac: str, actor: str, limit: int = 100
) -> list[DecisionRecord]:
    rows = list(
        session.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.external_ref_hmac == external_ref_hmac)
            .order_by(DecisionRecord.created_at, DecisionRecord.id)
            .limit(limit)
        )
    )
    for row in rows:
        log_access(session, decision_id=row.id, actor=actor, action="lookup")
    return rows


def corrected_by(session: Session, decision_ids: list[str]) -> dict[str, list[str]]:
    """For each record, the later records that correct it (oldest first)."""
    found: dict[str, list[str]] = {i: [] for i in decision_ids}
    if not decision_ids:
        return found
    for row_id, corrects in session.execute(
        select(DecisionRecord.id, DecisionRecord.corrects)
        .where(DecisionRecord.corrects.in_(decision_ids))
        .order_by(DecisionRecord.created_at, DecisionRecord.id)
    ):
        if corrects is not None:
            found[corrects].append(row_id)
    return found


def log_access(session: Session, *, decision_id: str, actor: str, action: str) -> None:
    session.add(
        DecisionAccess(decision_id=decision_id, at=datetime.now(UTC), actor=actor, action=action)
    )
    session.flush()


def access_log(session: Session, decision_id: str) -> list[DecisionAccess]:
    return list(
        session.scalars(
            select(DecisionAccess)
            .where(DecisionAccess.decision_id == decision_id)
            .order_by(DecisionAccess.id)
        )
    )
