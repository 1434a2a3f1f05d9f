"""How a write records its release (0014): the insert compares digests itself, a baseline row
marks where rebuildable versions begin, and the version lock is taken once per transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from release_writes import availability_of, entries_at, set_status
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.orm import Session

from db import curation
from db.catalog_file import SourceEntry
from db.models import CatalogRelease, CatalogVersion, ReleaseEntry, Source
from db.releases import ReleaseNotRecorded, catalog_at, record_release, release_versions
from db.session import make_engine, make_session_factory
from db.versioning import begin_write, current_version, lock_versions, record_change
from scoring.model import AvailabilityStatus

TOUCHED = "tada_release_touched"


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind()

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_only_what_changed_among_what_a_write_touched_gets_an_entry(session: Session) -> None:
    """Several entities offered at once, each compared with its own latest entry (not with the
    others'): a changed one, two unchanged ones, one never recorded and not there."""
    ivig = availability_of(session, "ivig", "US")
    shortage = AvailabilityStatus("shortage")
    ivig.status = shortage if ivig.status != shortage else AvailabilityStatus("constrained")
    session.flush()
    session.info[TOUCHED] = {
        ("availability", "ivig"),  # changed
        ("availability", "scig"),  # unchanged
        ("costs", "ivig"),  # unchanged
        ("source", "no-such-source"),  # never recorded, not there
    }
    version = record_change(
        session,
        actor="test",
        action="update",
        entity="availability",
        entity_id=str(ivig.id),
        before=None,
        after=None,
    )
    assert entries_at(session, version) == {("availability", "ivig"): _latest(session, "ivig")}


def test_an_entity_gone_gets_one_null_entry_and_no_more(session: Session) -> None:
    entry = SourceEntry(id="release-test-source", citation="A source made for this test", year=2026)
    curation.create(session, curation.SOURCE, actor="test", entry=entry)
    added = current_version(session)
    curation.delete(
        session, curation.SOURCE, actor="test", record_id=entry.id, expected_revision=None
    )
    deleted = current_version(session)
    assert entries_at(session, added)[("source", entry.id)] is not None
    assert entries_at(session, deleted) == {("source", entry.id): None}
    # Offered again as gone (as a flush that saw it would): it already is, so nothing is added.
    session.info[TOUCHED] = {("source", entry.id)}
    again = record_change(
        session,
        actor="test",
        action="delete",
        entity="source",
        entity_id=entry.id,
        before=None,
        after=None,
    )
    assert entries_at(session, again) == {}


def _latest(session: Session, therapy_id: str) -> str | None:
    return session.scalar(
        select(ReleaseEntry.digest)
        .where(ReleaseEntry.kind == "availability", ReleaseEntry.entity_id == therapy_id)
        .order_by(ReleaseEntry.version.desc())
        .limit(1)
    )


def test_writes_add_no_release_row_and_every_version_since_the_baseline_rebuilds(
    session: Session,
) -> None:
    baseline = session.scalar(select(func.min(CatalogRelease.version)))
    rows = session.scalar(select(func.count()).select_from(CatalogRelease))
    assert baseline is not None
    for status in ("shortage", "constrained", "available"):
        set_status(session, "ivig", status)
    latest = current_version(session)
    assert session.scalar(select(func.count()).select_from(CatalogRelease)) == rows
    assert release_versions(session) == (baseline, latest)
    ivig_us = {
        v: next(
            a.status
            for t in catalog_at(session, v).therapies
            if t.id == "ivig"
            for a in t.availability
            if a.region == "US"
        )
        for v in range(latest - 2, latest + 1)
    }
    assert ivig_us == {latest - 2: "shortage", latest - 1: "constrained", latest: "available"}
    with pytest.raises(ReleaseNotRecorded, match="no recorded release"):
        catalog_at(session, latest + 1)
    if baseline > 1:
        with pytest.raises(ReleaseNotRecorded):
            catalog_at(session, baseline - 1)


def test_a_write_records_its_release_in_two_statements_on_postgresql_three_on_sqlite(
    session: Session,
) -> None:
    set_status(session, "ivig", "shortage")
    with _statements(session) as seen:
        set_status(session, "ivig", "constrained")
    # The version query also asks whether a baseline exists; it is not the release's.
    release = [
        s
        for s in seen
        if any(table in s for table in ("release_entries", "catalog_blobs", "catalog_releases"))
        and "max(catalog_versions.version)" not in s
    ]
    part_reads = [s for s in seen if s.rstrip().endswith("ORDER BY availability.region")]
    postgres = session.get_bind().dialect.name == "postgresql"
    assert len(release) == (1 if postgres else 2), release
    # And one read of what it changed: the therapy's availability list, in its order.
    assert len(part_reads) == 1, part_reads


@pytest.fixture
def lock_session(database_url: str) -> Iterator[Session]:
    """A plain session (no write connection yet) on PostgreSQL, the only database whose version
    lock is a lock of its own (SQLite's writers already hold BEGIN IMMEDIATE's)."""
    engine = make_engine(database_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("the version lock is a PostgreSQL advisory lock (SQLite: BEGIN IMMEDIATE)")
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@pytest.mark.parametrize("transactions", [1, 2])
def test_the_version_lock_is_taken_once_per_transaction(
    lock_session: Session, transactions: int
) -> None:
    with _statements(lock_session) as seen:
        for _ in range(transactions):
            begin_write(lock_session)
            set_status(lock_session, "ivig", "shortage")
            set_status(lock_session, "ivig", "constrained")
            lock_session.commit()
    locks = [s for s in seen if "pg_advisory_xact_lock" in s]
    assert len(locks) == transactions


def test_the_version_lock_is_asked_again_after_a_rolled_back_savepoint(
    lock_session: Session,
) -> None:
    """PostgreSQL releases a lock taken inside a savepoint that is rolled back."""
    with _statements(lock_session) as seen:
        lock_session.connection()
        savepoint = lock_session.begin_nested()
        lock_versions(lock_session)
        lock_versions(lock_session)
        savepoint.rollback()
        lock_versions(lock_session)
    held = lock_session.execute(
        text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
    ).scalar_one()
    assert len([s for s in seen if "pg_advisory_xact_lock" in s]) == 2
    assert held == 1


def test_recording_returns_how_many_entities_changed(session: Session) -> None:
    """The insert's own row count, on PostgreSQL too (psycopg keeps it only when asked)."""
    for therapy_id in ("ivig", "scig"):
        row = availability_of(session, therapy_id, "US")
        shortage = AvailabilityStatus("shortage")
        row.status = shortage if row.status != shortage else AvailabilityStatus("constrained")
    session.flush()
    session.info[TOUCHED] |= {("costs", "ivig")}  # touched, unchanged
    version = current_version(session) + 1
    session.add(
        CatalogVersion(version=version, created_at=datetime.now(UTC), actor="t", summary="")
    )
    session.flush()
    assert record_release(session, version=version, whole_catalog=False, has_baseline=True) == 2
    assert set(entries_at(session, version)) == {
        ("availability", "ivig"),
        ("availability", "scig"),
    }


def test_a_new_baseline_over_entries_left_without_one_drops_what_is_gone(
    session: Session,
) -> None:
    """Entries with no baseline row (the table edited by hand): the next write records a whole
    release, diffed against those entries, so an entity gone since is recorded as gone."""
    entry = SourceEntry(id="release-test-gone", citation="A source made for this test", year=2026)
    curation.create(session, curation.SOURCE, actor="test", entry=entry)
    session.execute(delete(CatalogRelease))
    session.execute(delete(Source).where(Source.id == entry.id))  # gone, unrecorded
    set_status(session, "ivig", "shortage")
    latest = current_version(session)
    assert session.scalar(select(func.min(CatalogRelease.version))) == latest
    assert entries_at(session, latest)[("source", entry.id)] is None
    assert entry.id not in {s.id for s in catalog_at(session, latest).sources}
