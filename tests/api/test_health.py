"""Liveness and readiness."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from db.migrations import downgrade


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_when_migrated_and_seeded(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["catalog_version"] >= 1


def test_readyz_is_503_when_the_schema_is_not_at_head(database_url: str) -> None:
    downgrade(database_url, "base")
    settings = Settings(_env_file=None, environment="test", database_url=database_url)
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503
    assert body["checks"]["schema"] == "missing"


def test_warm_up_loads_the_catalog_and_code_lists_before_the_first_request(
    database_url: str,
) -> None:
    settings = Settings(_env_file=None, environment="test", database_url=database_url, warm_up=True)
    app = create_app(settings)
    frozen_before = gc.get_freeze_count()
    with TestClient(app):
        assert app.state.catalog_cache.loaded_version is not None
        codes = app.state.fhir_code_cache.current
        assert codes is not None
        assert codes.version == app.state.catalog_cache.loaded_version
        assert gc.get_freeze_count() > frozen_before


def test_warm_up_tolerates_a_database_without_schema(database_url: str) -> None:
    downgrade(database_url, "base")
    settings = Settings(_env_file=None, environment="test", database_url=database_url, warm_up=True)
    app = create_app(settings)
    with TestClient(app) as client:
        assert app.state.catalog_cache.loaded_version is None
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
