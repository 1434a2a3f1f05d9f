"""Scale-out on PostgreSQL: two `tada serve` processes on one database behave as one service."""

from __future__ import annotations

import time

import httpx
import pytest
from conftest import make_key
from support.replicas import running_replicas

SCORE = {"condition": "cidp", "patient": {"age_years": 52}}


def _version(base: str) -> int:
    response = httpx.post(f"{base}/v1/score", json=SCORE, timeout=30)
    assert response.status_code == 200, response.text
    return int(response.json()["catalog_version"])


def test_a_write_on_one_replica_is_served_by_the_other(backend: str, database_url: str) -> None:
    if backend != "postgresql":
        pytest.skip("replicas share a PostgreSQL database (SQLite serves one process)")
    key = make_key(database_url, "curator")
    with running_replicas(database_url, count=2, env={"TADA_CATALOG_REFRESH_SECONDS": "0.5"}) as (
        writer,
        reader,
    ):
        before = _version(reader.url)
        created = httpx.post(
            f"{writer.url}/v1/sources",
            json={"id": "replica-check", "citation": "written on replica one", "kind": "other"},
            headers={"X-API-Key": key},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        # Served by the other replica once its background refresh has run (0.5 s here); the
        # generous bound only keeps a broken refresh from hanging the suite.
        deadline = time.monotonic() + 60
        while _version(reader.url) != before + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _version(reader.url) == before + 1
        source = httpx.get(f"{reader.url}/v1/sources", timeout=30).json()["items"]
        assert "replica-check" in {s["id"] for s in source}


def test_serve_with_two_workers_answers_from_both(backend: str, database_url: str) -> None:
    if backend != "postgresql":
        pytest.skip("several workers need PostgreSQL")
    with running_replicas(database_url, count=1, args=("--workers", "2")) as (api,):
        for _ in range(8):  # connections spread over the worker processes; all must answer
            with httpx.Client(base_url=api.url, timeout=30) as client:
                assert client.post("/v1/score", json=SCORE).status_code == 200
        starting = [line for line in api.log().splitlines() if '"starting"' in line]
        assert '"workers": 2' in starting[0]
