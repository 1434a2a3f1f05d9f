"""Releases recorded after the write (0015): a deferred write stores only which entities it
changed; the next writer, a reader of that release, or the API's background task records it,
always from the rows as that version left them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from release_writes import availability_of, entries_at, set_status
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

import db.releases
from api.cli import prepare_database
from api.settings import Settings
from db.catalog_io import export_catalog
from db.models import CatalogVersion
from db.releases import (
    ReleasePending,
    catalog_at,
    deferred_version,
    read_release,
    settle_releases,
)
from db.session import make_engine, make_session_factory
from db.versioning import DEFER_RELEASE, begin_write, current_version, record_change


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _deferred_write(factory: sessionmaker[Session], status: str) -> int:
    """A curator's write as the API makes it: the release left for after the commit."""
    with factory() as session:
        session.info[DEFER_RELEASE] = True
        begin_write(session)
        set_status(session, "ivig", status)
        version = deferred_version(session)
        session.commit()
    assert version is not None
    return version


def _pending(factory: sessionmaker[Session], version: int) -> list[list[str]] | None:
    with factory() as session:
        return session.scalar(
            select(CatalogVersion.pending_release).where(CatalogVersion.version == version)
        )


def _status_at(catalog_version: int, factory: sessionmaker[Session]) -> str:
    catalog = read_release(factory, lambda session: catalog_at(session, catalog_version))
    ivig = next(t for t in catalog.therapies if t.id == "ivig")
    return next(a.status for a in ivig.availability if a.region == "US")


def test_a_deferred_write_stores_what_it_changed_and_no_entries(
    factory: sessionmaker[Session],
) -> None:
    version = _deferred_write(factory, "shortage")
    assert _pending(factory, version) == [["availability", "ivig"]]
    with factory() as session:
        assert entries_at(session, version) == {}
        with pytest.raises(ReleasePending):
            catalog_at(session, version)
        # Earlier versions do not wait on it.
        catalog_at(session, version - 1)


def test_a_reader_records_the_waiting_release_and_reads_it(
    factory: sessionmaker[Session],
) -> None:
    version = _deferred_write(factory, "shortage")
    rebuilt = read_release(factory, lambda session: catalog_at(session, version))
    with factory() as session:
        assert rebuilt == export_catalog(session)
        assert set(entries_at(session, version)) == {("availability", "ivig")}
    assert _pending(factory, version) is None


def test_the_next_writer_records_the_waiting_release_as_that_version_left_it(
    factory: sessionmaker[Session],
) -> None:
    """The second write changes the very row the first one did: recorded after it, the first
    release would hold the second's status."""
    first = _deferred_write(factory, "shortage")
    second = _deferred_write(factory, "constrained")
    assert _pending(factory, first) is None
    assert _pending(factory, second) == [["availability", "ivig"]]
    assert _status_at(first, factory) == "shortage"
    assert _status_at(second, factory) == "constrained"


def test_settling_with_nothing_waiting_changes_nothing(factory: sessionmaker[Session]) -> None:
    version = _deferred_write(factory, "shortage")
    settle_releases(factory)
    with factory() as session:
        recorded = entries_at(session, version)
    settle_releases(factory)
    with factory() as session:
        assert entries_at(session, version) == recorded
        assert current_version(session) == version


def test_a_deferred_write_runs_the_statements_of_a_write_without_releases(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the curator waits for: the same statements as with no release recording at all."""
    _deferred_write(factory, "constrained")
    settle_releases(factory)

    def statements_of(write: str) -> list[str]:
        seen: list[str] = []

        def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            seen.append(statement)

        with factory() as session:
            if write == "deferred":
                session.info[DEFER_RELEASE] = True
            engine = session.get_bind()
            event.listen(engine, "before_cursor_execute", note)
            try:
                begin_write(session)
                set_status(session, "ivig", "shortage" if write == "deferred" else "available")
                session.commit()
            finally:
                event.remove(engine, "before_cursor_execute", note)
        return seen

    deferred = statements_of("deferred")
    settle_releases(factory)
    monkeypatch.setattr(db.releases, "record_release", lambda *_, **__: 0)
    without = statements_of("off")
    assert deferred == without


def test_a_write_that_skips_begin_write_is_refused_while_a_release_waits(
    factory: sessionmaker[Session],
) -> None:
    """Its change is already flushed, so the waiting release could not be read as it was."""
    version = _deferred_write(factory, "shortage")
    with factory() as session, pytest.raises(ReleasePending, match="begin_write"):
        set_status(session, "ivig", "constrained")
    with factory() as session:
        assert current_version(session) == version
        assert availability_of(session, "ivig", "US").status == "shortage"


def test_a_second_catalog_change_after_a_deferred_one_is_refused(
    factory: sessionmaker[Session],
) -> None:
    """A deferred release is read from the rows as its version left them: a change flushed
    after it in the same transaction would leak into it."""
    with factory() as session:
        session.info[DEFER_RELEASE] = True
        begin_write(session)
        set_status(session, "ivig", "shortage")
        with pytest.raises(RuntimeError, match="deferred"):
            set_status(session, "scig", "shortage")


def test_a_deferred_write_that_changed_no_catalog_entity_waits_for_nothing(
    factory: sessionmaker[Session],
) -> None:
    with factory() as session:
        session.info[DEFER_RELEASE] = True
        begin_write(session)
        version = record_change(
            session,
            actor="test",
            action="update",
            entity="source",
            entity_id="none",
            before=None,
            after=None,
        )
        assert deferred_version(session) is None
        session.commit()
    assert _pending(factory, version) is None
    with factory() as session:
        assert catalog_at(session, version) == catalog_at(session, version - 1)


def test_a_release_that_fails_to_record_refuses_catalog_changes_only(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure is kept to its savepoint: the write goes on with other work (a decision
    record), a catalog change is refused, and once recording works the release is the one its
    version left."""
    version = _deferred_write(factory, "shortage")

    def fail(*_: object, **__: object) -> int:
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(db.releases, "record_pending", fail)
        with factory() as session:
            begin_write(session)
            assert current_version(session) == version  # the transaction is still usable
            with pytest.raises(ReleasePending, match="refused"):
                set_status(session, "ivig", "constrained")
        with pytest.raises(ReleasePending):
            read_release(factory, lambda session: catalog_at(session, version))
    assert _pending(factory, version) == [["availability", "ivig"]]
    assert _status_at(version, factory) == "shortage"
    assert _pending(factory, version) is None


@pytest.mark.parametrize("seed_on_empty", [True, False])
def test_starting_the_service_records_a_release_left_waiting(
    factory: sessionmaker[Session], database_url: str, seed_on_empty: bool
) -> None:
    """A process stopped between a write and its background task: `tada serve` records it."""
    version = _deferred_write(factory, "shortage")
    settings = Settings(
        _env_file=None, environment="test", database_url=database_url, seed_on_empty=seed_on_empty
    )
    assert prepare_database(settings) is None  # the catalog is not empty: nothing loaded
    assert _pending(factory, version) is None
    with factory() as session:
        assert set(entries_at(session, version)) == {("availability", "ivig")}
