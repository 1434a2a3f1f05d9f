"""Catalog versions and the append-only audit log.

Every change to the catalog goes through `record_change` inside the same transaction as the
change itself, so a version number always describes exactly one committed state and the audit
log can never disagree with the data. The version row's primary key makes two concurrent writers
collide instead of both claiming the same version: the loser's transaction fails and rolls back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from db.models import AuditEntry, CatalogVersion


def _collect_release_changes(session: Session, context: object, instances: object) -> None:
    # Imported here: db.releases reads catalog rows through db.catalog_io, which imports us.
    from db.releases import collect_touched

    collect_touched(session, context, instances)


# Every session notes which catalog entities its flushes change, so recording the release of
# a new version re-reads only those (see db/releases.py).
event.listen(Session, "before_flush", _collect_release_changes)


def current_version(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(CatalogVersion.version), 0))) or 0


def record_change(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    summary: str | None = None,
) -> int:
    """Bump the catalog version and append one audit entry; the caller commits."""
    now = datetime.now(UTC)
    version = current_version(session) + 1
    session.add(
        CatalogVersion(
            version=version,
            created_at=now,
            actor=actor,
            summary=summary or f"{action} {entity} {entity_id}",
        )
    )
    session.flush()  # the version row first: the audit entry's foreign key points at it
    session.add(
        AuditEntry(
            catalog_version=version,
            at=now,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
    )
    session.flush()
    from db.releases import record_release

    record_release(session, version=version, whole_catalog=entity == "catalog")
    return version


def list_audit(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    since_version: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if since_version is not None:
        query = query.where(AuditEntry.catalog_version > since_version)
    return list(session.scalars(query))
