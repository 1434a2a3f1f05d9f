"""Catalog versions and the append-only audit log.

Every change to the catalog goes through `record_change` inside the same transaction as the
change itself, so a version number always describes exactly one committed state and the audit
log can never disagree with the data. The version's release (db/releases.py) is recorded there
too, or, for an API write, just after it: `begin_write` records a release still waiting before
a new write changes anything (0015).

Versions are gap-free and in commit order, and concurrent writers to different records never
collide: `begin_write` takes the catalog's version lock, held until the transaction ends, and
only then reads the latest version (`record_change` makes sure of the lock and adds one). On
PostgreSQL the lock is a transaction-scoped advisory lock (READ COMMITTED: the read after the
wait sees the previous writer's committed version); on SQLite every writer already holds the
database's write lock from its first statement (`BEGIN IMMEDIATE`, see db/session.py). A writer
that rolls back after taking a number leaves no gap: the next writer takes the same number.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, SessionTransaction

from db.models import AuditEntry, CatalogRelease, CatalogVersion
from db.session import WRITE_OPTIONS

log = logging.getLogger("tada.releases")

# Any constant shared by all TADA processes: the advisory lock id of "the catalog version".
VERSION_LOCK_ID = 0x7ADA_0001
# The session transaction that holds the version lock (a later transaction does not).
_LOCKED_IN = "tada_version_lock"


def _collect_release_changes(session: Session, context: object, instances: object) -> None:
    # Imported here: db.releases reads catalog rows through db.catalog_io, which imports us.
    from db.releases import collect_touched

    collect_touched(session, context, instances)


# Every session notes which catalog entities its flushes change, so recording the release of
# a new version re-reads only those (see db/releases.py).
event.listen(Session, "before_flush", _collect_release_changes)


def current_version(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(CatalogVersion.version), 0))) or 0


# The latest version, the release it still waits for (if it was deferred) and whether releases
# are being recorded, in one round trip: a write needs all three, and on PostgreSQL each
# statement is a round trip (each is a primary-key look-up).
_HEAD_QUERY = select(
    select(func.coalesce(func.max(CatalogVersion.version), 0)).scalar_subquery(),
    select(CatalogVersion.pending_release)
    .order_by(CatalogVersion.version.desc())
    .limit(1)
    .scalar_subquery(),
    select(CatalogRelease.version).limit(1).exists(),
)
# The head read by `begin_write`, kept for the write's first `record_change`: (transaction,
# latest version, recording); reading it again would be one more round trip.
_HEAD_IN = "tada_version_head"
# Set on a session whose catalog writes record their release after the commit (0015).
DEFER_RELEASE = "tada_defer_release"


def begin_write(session: Session) -> None:
    """Start a catalog write: the write connection (SQLite: the write lock), the version lock,
    and the release the previous write deferred, recorded now if it still waits.

    Taking the version lock first, before any row is touched, gives every writer the same lock
    order (no deadlock between a delete and an update of the same record) and serialises
    writers for the few milliseconds a write takes; a waiting writer then re-reads the record,
    so a stale `If-Match` is a 412, never a lost update. A deferred release must be recorded
    before anything changes, since it is read from the rows as they are (see 0015).
    """
    session.connection(execution_options=WRITE_OPTIONS)
    lock_versions(session)
    latest, pending, recording = session.execute(_HEAD_QUERY).one()
    if pending and not _record_pending(session, int(latest), pending):
        return  # no head kept: `record_change` reads it again and refuses the catalog change
    session.info[_HEAD_IN] = (_innermost(session), int(latest), bool(recording))


def _record_pending(session: Session, version: int, keys: list[list[str]]) -> bool:
    """Record the release `version` left waiting, in a savepoint: if that fails, the write's
    other work (a decision record, feedback) still goes on, and only a catalog change, which
    would spoil the waiting release, is refused."""
    from db.releases import record_pending

    try:
        with session.begin_nested():
            record_pending(session, version=version, keys=keys)
    except Exception:
        log.error("catalog version %s: recording its release failed", version, exc_info=True)
        return False
    return True


def lock_versions(session: Session) -> None:
    """Wait for the catalog version lock (until this transaction ends); see the module doc.

    Taken once per transaction: `begin_write` takes it and `record_change` makes sure of it,
    and asking again would be one more round trip for a lock already held.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = _innermost(session)
    if transaction is not None and session.info.get(_LOCKED_IN) is transaction:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": VERSION_LOCK_ID})
    session.info[_LOCKED_IN] = _innermost(session)


def _innermost(session: Session) -> SessionTransaction | None:
    """The savepoint in progress, else the transaction: PostgreSQL releases a lock taken inside
    a savepoint that is rolled back, so a lock is known held only where it was taken (inside
    another savepoint, or after it, it is asked for again)."""
    return session.get_nested_transaction() or session.get_transaction()


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
    """Bump the catalog version, append one audit entry and record the version's release
    (or, on a session marked `DEFER_RELEASE`, the entities it changed, for the release to be
    recorded after the commit); the caller commits."""
    lock_versions(session)
    now = datetime.now(UTC)
    latest, recording = _head(session)
    version = latest + 1
    whole_catalog = entity == "catalog"
    # Imported here: db.releases reads catalog rows through db.catalog_io, which imports us.
    from db import releases

    deferred = (
        releases.take_touched(session)
        if session.info.get(DEFER_RELEASE) and recording and not whole_catalog
        else None
    )
    session.add(
        CatalogVersion(
            version=version,
            created_at=now,
            actor=actor,
            summary=summary or f"{action} {entity} {entity_id}",
            pending_release=deferred or None,
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
    if deferred is None:
        releases.record_release(
            session, version=version, whole_catalog=whole_catalog, has_baseline=recording
        )
    elif deferred:
        releases.mark_deferred(session, version)
    # else nothing in the catalog changed: the manifest is the previous version's.
    return version


def _head(session: Session) -> tuple[int, bool]:
    """The latest version and whether releases are recorded: as `begin_write` read it in this
    transaction (no other writer can have moved it since: the lock is held), else read now.

    Read now, a deferred release still waiting means this write's changes are already flushed
    (it skipped `begin_write`, or recording that release failed there), so that release could
    no longer be read as it was: the change is refused.
    """
    cached = session.info.pop(_HEAD_IN, None)
    if cached is not None and cached[0] is _innermost(session):
        return cached[1], cached[2]
    latest, pending, recording = session.execute(_HEAD_QUERY).one()
    if pending:
        from db.releases import ReleasePending

        raise ReleasePending(
            f"catalog version {latest}'s release is still to be recorded, so this catalog "
            "change is refused (a catalog write starts with begin_write, which records it)"
        )
    return int(latest), bool(recording)


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
