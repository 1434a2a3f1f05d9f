"""Shared fixtures: a clean, migrated, seeded database per test, on every configured backend.

The schema is built by the real Alembic migrations once per backend into a template (a file for
SQLite, a template database for PostgreSQL); each test then gets its own copy, so tests never
share state and never depend on order. PostgreSQL runs when TADA_TEST_POSTGRES_URL is set
(`.ci/run` always sets it).
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.settings import Settings
from db.catalog_file import SEED_CATALOG, load_catalog_file
from db.catalog_io import replace_catalog
from db.keys import create_key
from db.migrations import upgrade
from db.session import WRITE_OPTIONS, make_engine, make_session_factory

POSTGRES_URL = os.environ.get("TADA_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
_counter = itertools.count()


def seed(url: str) -> None:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            session.connection(execution_options=WRITE_OPTIONS)
            replace_catalog(
                session, load_catalog_file(SEED_CATALOG), actor="test:seed", summary="seed"
            )
            session.commit()
    finally:
        engine.dispose()


class PostgresDatabases:
    """Creates throw-away databases on the server named by TADA_TEST_POSTGRES_URL."""

    def __init__(self, url: str) -> None:
        self.base = make_url(url)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT", poolclass=None)
        self.prefix = f"tada_{os.getpid()}"

    def url_for(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            suffix = f' TEMPLATE "{template}"' if template else ""
            connection.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases | None]:
    if not POSTGRES_URL:
        yield None
        return
    databases = PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def template_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, postgres: PostgresDatabases | None
) -> Iterator[str]:
    """A migrated, seeded database to copy from."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        seed(url)
        yield url
        return
    assert postgres is not None
    name = f"{postgres.prefix}_template"
    url = postgres.create(name)
    upgrade(url)
    seed(url)
    yield url
    postgres.drop(name)


@pytest.fixture
def empty_database_url(
    backend: str, tmp_path: Path, postgres: PostgresDatabases | None
) -> Iterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    assert postgres is not None
    name = f"{postgres.prefix}_e{next(_counter)}"
    url = postgres.create(name)
    yield url
    postgres.drop(name)


@pytest.fixture
def database_url(
    backend: str, template_url: str, tmp_path: Path, postgres: PostgresDatabases | None
) -> Iterator[str]:
    """A fresh copy of the migrated, seeded template, for this test only."""
    if backend == "sqlite":
        source = Path(make_url(template_url).database or "")
        target = tmp_path / "tada.db"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
        return
    assert postgres is not None
    name = f"{postgres.prefix}_t{next(_counter)}"
    url = postgres.create(name, template=make_url(template_url).database)
    yield url
    postgres.drop(name)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on the test's own database holding a write connection (as a curator's write
    does); its engine is disposed after the test."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            session.connection(execution_options=WRITE_OPTIONS)
            yield session
    finally:
        engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0,
        cds_jwt_disabled=True,
        warm_up=False,
        # Tests never depend on timing: the production fetch budget (0.4 s) could run out on
        # a loaded CI machine; bounds are tested with the page limit instead.
        cds_fetch_budget_seconds=30,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def make_key(url: str, role: str) -> str:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            issued = create_key(session, name=f"test-{role}", role=role)
            session.commit()
            return issued.key
    finally:
        engine.dispose()


@pytest.fixture
def curator_key(database_url: str) -> str:
    return make_key(database_url, "curator")


@pytest.fixture
def reader_key(database_url: str) -> str:
    return make_key(database_url, "reader")


@pytest.fixture
def admin_key(database_url: str) -> str:
    return make_key(database_url, "admin")


@pytest.fixture
def clinician_key(database_url: str) -> str:
    return make_key(database_url, "clinician")
