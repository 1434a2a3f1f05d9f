"""The schema is made only by Alembic, and the migrations agree with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, Engine, bindparam, inspect, text

from db.catalog_file import SEED_CATALOG, CatalogFile, load_catalog_file
from db.catalog_io import export_catalog, replace_catalog
from db.migrations import current_revision, downgrade, head_revision, upgrade
from db.models import Base
from db.session import make_engine, make_session_factory
from db.snapshot import load_snapshot
from scoring import rank
from scoring.model import (
    EXCLUDED_STATUSES,
    AnyOf,
    PatientCase,
    Preferences,
    Requirement,
    Weights,
)
from scoring.weights import DEFAULT_RATINGS


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    assert _tables(empty_database_url) == set(Base.metadata.tables)
    downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) == set()
    upgrade(empty_database_url)
    assert _tables(empty_database_url) == set(Base.metadata.tables)


def test_models_and_migrations_agree(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert current_revision(engine) == head_revision(empty_database_url)
    finally:
        engine.dispose()


def test_0004_brings_an_existing_catalog_to_the_clinical_model_v2(empty_database_url: str) -> None:
    """A database at 0003 holding a whole catalog is upgraded in place: default places a
    curator can review, whole-number figures with stable ids, the HBV vocabulary; it then
    scores every condition and exports a file the loader accepts."""
    url = empty_database_url
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            replace_catalog(session, load_catalog_file(SEED_CATALOG), actor="t", summary="t")
            session.commit()
        downgrade(url, "0003")  # the seed as a 0003 database holds it
        with engine.begin() as connection:
            assert "place" not in {
                c["name"] for c in inspect(connection).get_columns("indications")
            }
            connection.execute(
                text(
                    "UPDATE risk_rules SET value = :value WHERE id = 'rituximab-hbv-resolved'"
                ).bindparams(bindparam("value", type_=JSON)),
                {"value": "hbv_positive"},
            )
            connection.execute(text("DELETE FROM risk_factors WHERE id LIKE 'hbv_a%'"))
            per_100 = (
                connection.execute(
                    text("SELECT treated_per_100 FROM outcome_figures ORDER BY treated_per_100")
                )
                .scalars()
                .all()
            )
            assert per_100
            assert all(isinstance(v, float) for v in per_100)
        engine.dispose()

        upgrade(url)
        with factory() as session:
            snapshot = load_snapshot(session)
            exported = export_catalog(session)
        rankable = [i for i in snapshot.indications if i.status not in EXCLUDED_STATUSES]
        assert rankable
        scig = next(i for i in rankable if (i.therapy_id, i.condition_id) == ("scig", "cidp"))
        assert scig.place.requires is Requirement.NONE  # maintenance: a curator names the therapy
        pe = next(
            i for i in rankable if (i.therapy_id, i.condition_id) == ("plasma-exchange", "cidp")
        )
        assert pe.place.requires is Requirement.INADEQUATE_FIRST_LINE
        figures = [f for i in snapshot.indications for f in i.figures]
        assert figures
        assert all(f.id and f.per in (100, 1000) for f in figures)
        assert {"hbv_active", "hbv_resolved"} <= snapshot.risk_factors
        assert snapshot.factor_meanings["hbv_positive"].check == "hbv_status"
        rule = next(r for r in snapshot.risk_rules if r.id == "rituximab-hbv-resolved")
        assert isinstance(rule.when, AnyOf)
        for condition in snapshot.conditions:
            result = rank(
                snapshot,
                PatientCase(condition_id=condition.id, prior_treatments=()),
                Preferences(),
                Weights(dict(DEFAULT_RATINGS)),
            )
            assert result.ranked or result.excluded
        reviewed = [i.place for i in exported.indications if i.place is not None]
        assert reviewed
        assert all(p.curator_note for p in reviewed)
        CatalogFile.model_validate(exported.model_dump(mode="json"))  # it loads again
    finally:
        engine.dispose()


def _migrated_and_seeded(url: str) -> Engine:
    """The database at head with the seed catalog loaded (the caller disposes of the engine)."""
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        replace_catalog(session, load_catalog_file(SEED_CATALOG), actor="t", summary="t")
        session.commit()
    return engine


def test_0009_adds_indication_courses_and_its_downgrade_keeps_the_indications(
    empty_database_url: str,
) -> None:
    """0009 adds `indications.course` (JSON, NULL: not recorded); down to 0008 it goes and
    every indication stays; back up, the indications have no course until a load brings them."""
    url = empty_database_url
    engine = _migrated_and_seeded(url)
    factory = make_session_factory(engine)
    try:
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM indications")).scalar_one()
            with_course = connection.execute(
                text("SELECT count(*) FROM indications WHERE course IS NOT NULL")
            ).scalar_one()
        assert with_course > 0
        downgrade(url, "0008")
        engine.dispose()
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("indications")}
            assert "course" not in columns
            assert connection.execute(text("SELECT count(*) FROM indications")).scalar_one() == (
                count
            )
        engine.dispose()
        upgrade(url)
        with engine.connect() as connection:
            assert (
                connection.execute(
                    text("SELECT count(*) FROM indications WHERE course IS NULL")
                ).scalar_one()
                == count
            )
        with factory() as session:
            exported = export_catalog(session)
        assert all(i.course is None for i in exported.indications)
        CatalogFile.model_validate(exported.model_dump(mode="json"))  # it loads again
    finally:
        engine.dispose()


def test_0010_adds_pending_releases_and_its_downgrade_keeps_the_versions(
    empty_database_url: str,
) -> None:
    """0010 adds `catalog_versions.pending_release` (JSON, NULL: recorded); down to 0009 it
    goes and every version stays, but not while a release waits: it would be lost (0015)."""
    url = empty_database_url
    engine = _migrated_and_seeded(url)
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("catalog_versions")}
            assert "pending_release" in columns
            versions = connection.execute(text("SELECT count(*) FROM catalog_versions")).scalar()
            assert (
                connection.execute(
                    text("SELECT count(*) FROM catalog_versions WHERE pending_release IS NULL")
                ).scalar()
                == versions
            )
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE catalog_versions SET pending_release = :keys"),
                {"keys": '[["availability", "ivig"]]'},
            )
        engine.dispose()
        # A release still waiting would be lost with its column: refused, nothing changed.
        with pytest.raises(RuntimeError, match="still to be recorded"):
            downgrade(url, "0009")
        assert current_revision(engine) == head_revision()
        with engine.begin() as connection:
            connection.execute(text("UPDATE catalog_versions SET pending_release = NULL"))
        engine.dispose()
        downgrade(url, "0009")
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("catalog_versions")}
            assert "pending_release" not in columns
            assert (
                connection.execute(text("SELECT count(*) FROM catalog_versions")).scalar()
                == versions
            )
    finally:
        engine.dispose()
