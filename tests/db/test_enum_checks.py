"""The schema holds its enums: a word outside a column's vocabulary cannot enter by any path."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError

from db.migrations import downgrade, migrations_folder, upgrade
from db.models import Base, Indication, RiskRule
from db.session import make_engine, make_session_factory
from db.snapshot import load_snapshot
from scoring.model import IndicationStatus, Severity


def _migration_0008() -> Any:
    (path,) = migrations_folder().glob("versions/*_0008_*.py")
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model_checks() -> dict[tuple[str, str], tuple[str, ...]]:
    """(table, column) -> the words the models' CHECK constraints allow."""
    checks = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            words = getattr(column.type, "enums", None)
            if words:
                checks[(table.name, column.name)] = tuple(words)
    return checks


def test_the_migration_checks_exactly_the_models_enum_columns() -> None:
    frozen = {(t, c): words for t, c, _name, words in _migration_0008().CHECKS}
    assert frozen == _model_checks()


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("indications", "status"),
        ("indications", "certainty"),
        ("risk_rules", "severity"),
        ("availability", "status"),
        ("costs", "basis"),
        ("sources", "kind"),
        ("adverse_effects", "timing"),
    ],
)
def test_a_word_outside_the_vocabulary_written_by_hand_is_refused(
    database_url: str, table: str, column: str
) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            with pytest.raises(IntegrityError):
                connection.execute(text(f"UPDATE {table} SET {column} = 'first-line'"))
            connection.rollback()
            # Nothing changed, and the catalog still loads.
            with make_session_factory(engine)() as session:
                assert load_snapshot(session).indications
    finally:
        engine.dispose()


def test_the_orm_refuses_a_bad_word_before_the_database_sees_it(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            bad = update(Indication).values(status="first-line")
            with pytest.raises(StatementError, match="is not among the defined enum values"):
                session.execute(bad)
    finally:
        engine.dispose()


def test_enum_columns_read_back_as_the_engines_enums(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            indication = session.scalars(select(Indication).limit(1)).one()
            rule = session.scalars(select(RiskRule).limit(1)).one()
            assert isinstance(indication.status, IndicationStatus)
            assert isinstance(rule.severity, Severity)
        with make_session_factory(engine)() as session:
            # The snapshot passes them through unchanged.
            snapshot = load_snapshot(session)
            assert all(isinstance(i.status, IndicationStatus) for i in snapshot.indications)
    finally:
        engine.dispose()


def test_0008_refuses_an_existing_bad_word_and_changes_nothing(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0007")
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sources (id, citation, kind, verified, revision) "
                    "VALUES ('s', 'c', 'blog', true, 1)"
                )
            )
        with pytest.raises(RuntimeError, match=r"sources\.kind = 'blog'"):
            upgrade(empty_database_url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE sources SET kind = 'other'"))
        upgrade(empty_database_url)
        downgrade(empty_database_url, "0007")
        with engine.begin() as connection:  # the constraints are gone again
            connection.execute(text("UPDATE sources SET kind = 'blog'"))
    finally:
        engine.dispose()


def test_every_check_constraint_is_named_by_the_convention() -> None:
    names = {
        constraint.name
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    assert {name for _t, _c, name, _w in _migration_0008().CHECKS} <= {str(n) for n in names}
