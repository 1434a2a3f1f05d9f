"""The background catalog refresh and the API-key cache (catalog_refresh_seconds > 0)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from support.problems import assert_problem

from api.app import create_app
from api.settings import Settings
from db.keys import create_key, revoke_key
from db.session import make_engine, make_session_factory

SCORE = {"condition": "cidp", "patient": {"age_years": 52}}


def _until(check: Callable[[], bool], *, seconds: float = 60) -> None:
    """Poll a condition; the bound only stops a broken build from hanging."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


@pytest.fixture
def refreshing(database_url: str) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0.3,
        warm_up=False,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _key(database_url: str, role: str) -> tuple[int, str]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            issued = create_key(session, name="refresh-test", role=role)
            session.commit()
            return issued.id, issued.key
    finally:
        engine.dispose()


def _revoke(database_url: str, key_id: int) -> None:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            assert revoke_key(session, key_id)
            session.commit()
    finally:
        engine.dispose()


def _version(client: TestClient) -> int:
    return int(client.post("/v1/score", json=SCORE).json()["catalog_version"])


def test_a_write_is_scored_after_the_background_refresh(
    refreshing: TestClient, curator_key: str
) -> None:
    before = _version(refreshing)
    created = refreshing.post(
        "/v1/sources",
        json={"id": "refresh-one", "citation": "x", "kind": "other"},
        headers={"X-API-Key": curator_key},
    )
    assert created.status_code == 201, created.text
    assert created.json()["id"] == "refresh-one"
    assert created.json()["revision"] == 1
    _until(lambda: _version(refreshing) == before + 1)


def test_a_burst_of_writes_is_reloaded_at_most_once_per_interval(
    refreshing: TestClient, curator_key: str
) -> None:
    cache = refreshing.app.state.catalog_cache  # type: ignore[attr-defined]
    reloads_before = cache.reloads
    started = time.monotonic()
    for n in range(8):
        response = refreshing.post(
            "/v1/sources",
            json={"id": f"burst-{n}", "citation": "x", "kind": "other"},
            headers={"X-API-Key": curator_key},
        )
        assert response.status_code == 201, response.text
    final = int(refreshing.get("/v1/catalog/version").json()["catalog_version"])
    _until(lambda: _version(refreshing) == final)
    elapsed = time.monotonic() - started
    # Coalesced: one reload per 0.3 s interval at most (plus the one in flight at the start).
    assert cache.reloads - reloads_before <= 1 + elapsed / 0.3 + 1


def test_a_revoked_key_stops_working_within_the_refresh_interval(
    refreshing: TestClient, database_url: str
) -> None:
    key_id, key = _key(database_url, "reader")
    headers = {"X-API-Key": key}
    assert refreshing.post("/v1/score", json=SCORE, headers=headers).status_code == 200
    _revoke(database_url, key_id)
    _until(lambda: refreshing.post("/v1/score", json=SCORE, headers=headers).status_code == 401)
    problem = refreshing.post("/v1/score", json=SCORE, headers=headers)
    assert problem.headers["content-type"] == "application/problem+json"


def test_an_invalid_key_is_never_cached(refreshing: TestClient) -> None:
    headers = {"X-API-Key": "tada_000000000000_not-a-key"}
    for _ in range(2):
        assert_problem(refreshing.post("/v1/score", json=SCORE, headers=headers), 401)
