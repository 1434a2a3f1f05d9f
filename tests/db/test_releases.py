"""Catalog releases: every version rebuilds exactly, and a write stores only what it changed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import curation
from db.catalog_file import SEED_CATALOG, load_catalog_file
from db.catalog_io import export_catalog
from db.models import Availability, CatalogBlob, ReleaseEntry, RiskRule
from db.releases import (
    THERAPY_PARTS,
    ReleaseNotRecorded,
    catalog_at,
    snapshot_at,
    snapshot_of,
    split_catalog,
)
from db.session import make_engine, make_session_factory
from db.snapshot import load_snapshot
from db.versioning import current_version
from scoring.model import CatalogSnapshot


def _live_snapshot(database_url: str) -> CatalogSnapshot:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return load_snapshot(session)
    finally:
        engine.dispose()


def _entries_at(session: Session, version: int) -> list[tuple[str, str, str | None]]:
    return [
        (e.kind, e.entity_id, e.digest)
        for e in session.scalars(
            select(ReleaseEntry).where(ReleaseEntry.version == version).order_by(ReleaseEntry.kind)
        )
    ]


def _us_ivig_availability(session: Session) -> Availability:
    row = session.scalars(
        select(Availability).where(Availability.therapy_id == "ivig", Availability.region == "US")
    ).one()
    return row


def test_the_seed_release_rebuilds_the_seed_file(session: Session) -> None:
    rebuilt = catalog_at(session, current_version(session))
    assert rebuilt == export_catalog(session)
    seed = load_catalog_file(SEED_CATALOG)
    assert sorted(t.id for t in rebuilt.therapies) == sorted(t.id for t in seed.therapies)
    assert split_catalog(rebuilt).keys() == split_catalog(seed).keys()


def test_a_supply_change_stores_one_entry_and_old_versions_still_rebuild(session: Session) -> None:
    seed_version = current_version(session)
    seed_catalog = export_catalog(session)
    blobs_before = session.scalar(select(func.count()).select_from(CatalogBlob))
    row = _us_ivig_availability(session)
    curation.update(
        session,
        curation.AVAILABILITY,
        actor="test",
        record_id=row.id,
        changes={"status": "shortage"},
        expected_revision=None,
    )
    version = current_version(session)

    entries = _entries_at(session, version)
    assert [(kind, entity) for kind, entity, _ in entries] == [("availability", "ivig")]
    assert session.scalar(select(func.count()).select_from(CatalogBlob)) == (blobs_before or 0) + 1
    assert catalog_at(session, seed_version) == seed_catalog
    assert catalog_at(session, version) == export_catalog(session)


def test_a_change_undone_is_recorded_against_the_latest_entry_not_an_older_one(
    session: Session,
) -> None:
    row = _us_ivig_availability(session)
    seed_version, seed_status = current_version(session), row.status
    blobs_before = session.scalar(select(func.count()).select_from(CatalogBlob)) or 0
    other = "shortage" if seed_status != "shortage" else "constrained"
    for status in (other, seed_status, other):
        curation.update(
            session,
            curation.AVAILABILITY,
            actor="test",
            record_id=row.id,
            changes={"status": status},
            expected_revision=None,
        )
        assert [(k, e) for k, e, _ in _entries_at(session, current_version(session))] == [
            ("availability", "ivig")
        ]
    first, undone, redone = (_entries_at(session, seed_version + n)[0][2] for n in (1, 2, 3))
    assert undone != first
    assert redone == first
    # Undone is the seed's content again: stored once, so one new blob in all.
    assert session.scalar(select(func.count()).select_from(CatalogBlob)) == blobs_before + 1
    assert catalog_at(session, seed_version + 2) == catalog_at(session, seed_version)
    assert catalog_at(session, seed_version + 3) == export_catalog(session)


def test_deleting_a_rule_then_restoring_it_reuses_the_stored_content(session: Session) -> None:
    rule = session.scalars(select(RiskRule).where(RiskRule.therapy_id == "ivig")).first()
    assert rule is not None
    seed_version = current_version(session)
    curation.delete(
        session, curation.RISK_RULE, actor="test", record_id=rule.id, expected_revision=None
    )
    deleted_at = current_version(session)
    assert catalog_at(session, deleted_at) == export_catalog(session)
    assert catalog_at(session, seed_version) != catalog_at(session, deleted_at)


def test_a_deleted_therapy_is_absent_from_later_releases_only(session: Session) -> None:
    seed_version = current_version(session)
    curation.delete(
        session, curation.THERAPY, actor="test", record_id="hsct", expected_revision=None
    )
    version = current_version(session)
    kinds = {kind for kind, _, digest in _entries_at(session, version) if digest is None}
    assert kinds == {"therapy", *THERAPY_PARTS, "indication"}
    assert "hsct" not in {t.id for t in catalog_at(session, version).therapies}
    assert "hsct" in {t.id for t in catalog_at(session, seed_version).therapies}


def test_a_rebuilt_snapshot_equals_the_live_one(session: Session, database_url: str) -> None:
    live = _live_snapshot(database_url)
    rebuilt = snapshot_at(session, live.version)
    assert rebuilt.version == live.version
    assert rebuilt.therapies == live.therapies
    assert rebuilt.indications == live.indications
    assert rebuilt.costs == live.costs
    assert rebuilt.risk_rules == live.risk_rules
    assert rebuilt.sources == live.sources
    assert snapshot_of(export_catalog(session), version=live.version).scales == live.scales


def test_an_unrecorded_version_is_refused(session: Session) -> None:
    with pytest.raises(ReleaseNotRecorded, match="no recorded release"):
        catalog_at(session, current_version(session) + 5)


def _indication_id(session: Session, therapy_id: str, condition_id: str) -> int:
    from db.models import Indication

    return session.scalars(
        select(Indication.id).where(
            Indication.therapy_id == therapy_id, Indication.condition_id == condition_id
        )
    ).one()


def _first_figure_changed(session: Session) -> None:
    indication_id = _indication_id(session, "ivig", "cidp")
    current = export_catalog(session)
    entry = next(i for i in current.indications if i.therapy == "ivig" and i.condition == "cidp")
    figures = [f.model_dump(mode="json") for f in entry.figures]
    figures[0]["events"] = figures[0]["events"] - 1
    curation.update(
        session,
        curation.INDICATION,
        actor="test",
        record_id=indication_id,
        changes={"figures": figures},
        expected_revision=None,
    )


WRITES = {
    "condition deleted (cascades)": lambda s: curation.delete(
        s, curation.CONDITION, actor="test", record_id="cidp", expected_revision=None
    ),
    "source edited": lambda s: curation.update(
        s,
        curation.SOURCE,
        actor="test",
        record_id="article-ivig-2024",
        changes={"note": "checked again"},
        expected_revision=None,
    ),
    "therapy edited": lambda s: curation.update(
        s,
        curation.THERAPY,
        actor="test",
        record_id="scig",
        changes={"onset_days": 30},
        expected_revision=None,
    ),
    "indication deleted": lambda s: curation.delete(
        s,
        curation.INDICATION,
        actor="test",
        record_id=_indication_id(s, "scig", "cidp"),
        expected_revision=None,
    ),
    "figure edited": _first_figure_changed,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=list(WRITES))
def test_after_any_write_the_new_release_is_the_catalog_and_the_old_one_unchanged(
    session: Session, write: Any
) -> None:
    before_version = current_version(session)
    before = export_catalog(session)
    write(session)
    version = current_version(session)
    assert version == before_version + 1
    assert catalog_at(session, version) == export_catalog(session)
    assert catalog_at(session, before_version) == before
    assert catalog_at(session, version) != before
