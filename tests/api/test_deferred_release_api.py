"""A curator's write through the API records its release after the response (0015): by a
background task, or, when that task fails, by the next write or the first reader of it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import api.deps
import db.releases
from db.models import CatalogVersion, ReleaseEntry
from db.session import make_engine, make_session_factory

GRID_REQUEST: dict[str, Any] = {
    "condition": "cidp",
    "patient": {"age_years": 52, "weight_kg": 80},
    "preferences": {"region": "US"},
}


def _patch_ivig_supply(client: TestClient, key: str, status: str) -> int:
    therapy = client.get("/v1/therapies/ivig").json()
    supply = next(a for a in therapy["availability"] if a["region"] == "US")
    patched = client.patch(
        f"/v1/availability/{supply['id']}",
        json={"status": status},
        headers={"X-API-Key": key, "If-Match": f'"{supply["revision"]}"'},
    )
    assert patched.status_code == 200, patched.text
    version = client.get("/v1/catalog/version").json()["catalog_version"]
    return int(version)


def _release_of(database_url: str, version: int) -> tuple[Any, set[tuple[str, str]]]:
    """The version's waiting entities (None: recorded) and the entries recorded for it."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            pending = session.scalar(
                select(CatalogVersion.pending_release).where(CatalogVersion.version == version)
            )
            entries = session.execute(
                select(ReleaseEntry.kind, ReleaseEntry.entity_id).where(
                    ReleaseEntry.version == version
                )
            )
            return pending, {(kind, entity_id) for kind, entity_id in entries}
    finally:
        engine.dispose()


def test_the_background_task_records_the_release_after_the_write(
    client: TestClient, curator_key: str, database_url: str
) -> None:
    version = _patch_ivig_supply(client, curator_key, "shortage")
    assert _release_of(database_url, version) == (None, {("availability", "ivig")})


def test_a_failed_background_task_loses_nothing(
    client: TestClient,
    curator_key: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fail(_factory: object) -> None:
        raise OSError("database went away")

    monkeypatch.setattr(api.deps, "settle_releases", fail)
    first = _patch_ivig_supply(client, curator_key, "shortage")
    assert _release_of(database_url, first) == ([["availability", "ivig"]], set())
    assert f"catalog version {first}: recording its release failed" in caplog.text

    # The option grid quotes the release of the version it scores: its first reader records it.
    grid = client.post("/v1/option-grid", json=GRID_REQUEST)
    assert grid.status_code == 200, grid.text
    assert grid.json()["catalog_version"] == first
    assert _release_of(database_url, first) == (None, {("availability", "ivig")})

    second = _patch_ivig_supply(client, curator_key, "constrained")
    # The next writer records a waiting release before it changes anything.
    third = _patch_ivig_supply(client, curator_key, "available")
    assert (second, third) == (first + 1, first + 2)
    assert _release_of(database_url, second) == (None, {("availability", "ivig")})
    assert _release_of(database_url, third)[0] == [["availability", "ivig"]]


def test_a_release_that_cannot_be_recorded_is_a_503_for_what_needs_it_only(
    client: TestClient,
    curator_key: str,
    clinician_key: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recording keeps failing: the grid that quotes that release and a further catalog change
    get a problem+json 503 (nothing written); a decision record still goes in."""
    monkeypatch.setattr(api.deps, "settle_releases", lambda _factory: None)
    version = _patch_ivig_supply(client, curator_key, "shortage")

    def fail(*_: object, **__: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(db.releases, "record_pending", fail)
    grid = client.post("/v1/option-grid", json=GRID_REQUEST)
    assert grid.status_code == 503, grid.text
    assert grid.headers["content-type"] == "application/problem+json"
    assert f"catalog version {version}'s release is still to be recorded" in grid.json()["detail"]

    therapy = client.get("/v1/therapies/ivig").json()
    supply = next(a for a in therapy["availability"] if a["region"] == "US")
    refused = client.patch(
        f"/v1/availability/{supply['id']}",
        json={"status": "constrained"},
        headers={"X-API-Key": curator_key, "If-Match": f'"{supply["revision"]}"'},
    )
    assert refused.status_code == 503, refused.text
    assert "nothing was written" in refused.json()["detail"]

    decision = client.post(
        "/v1/decisions",
        json={"request": GRID_REQUEST, "status": "deferred", "participants": ["patient"]},
        headers={"X-API-Key": clinician_key},
    )
    assert decision.status_code == 201, decision.text
    assert decision.json()["catalog_version"] == version

    monkeypatch.undo()
    assert client.post("/v1/option-grid", json=GRID_REQUEST).status_code == 200
    assert _release_of(database_url, version) == (None, {("availability", "ivig")})
    assert client.get("/v1/therapies/ivig").json()["availability"] == therapy["availability"]
