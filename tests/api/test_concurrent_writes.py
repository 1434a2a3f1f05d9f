"""Concurrent curators: unrelated writes all land, versions stay gap-free and in commit order,
and a write based on a stale read is refused with 412, never silently applied."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from db.models import AuditEntry, CatalogVersion
from db.session import make_engine, make_session_factory

WRITERS = 20


def test_twenty_writers_on_different_records_are_all_accepted(
    client: TestClient, curator_key: str, database_url: str
) -> None:
    before = int(client.get("/v1/catalog/version").json()["catalog_version"])
    headers = {"X-API-Key": curator_key}

    def write(n: int) -> int:
        source = {"id": f"concurrent-{n}", "citation": f"source {n}", "kind": "other"}
        return client.post("/v1/sources", json=source, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        statuses = list(pool.map(write, range(WRITERS)))
    assert statuses == [201] * WRITERS

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            versions = list(
                session.scalars(
                    select(CatalogVersion.version)
                    .where(CatalogVersion.version > before)
                    .order_by(CatalogVersion.version)
                )
            )
            audited = list(
                session.scalars(
                    select(AuditEntry.entity_id)
                    .where(AuditEntry.catalog_version > before)
                    .order_by(AuditEntry.catalog_version)
                )
            )
            created = list(
                session.scalars(
                    select(CatalogVersion.created_at)
                    .where(CatalogVersion.version > before)
                    .order_by(CatalogVersion.version)
                )
            )
    finally:
        engine.dispose()
    assert versions == list(range(before + 1, before + WRITERS + 1))  # gap-free
    assert sorted(audited) == sorted(f"concurrent-{n}" for n in range(WRITERS))
    assert created == sorted(created)  # numbered in the order they were made


def test_concurrent_edits_from_one_read_keep_one_and_refuse_the_rest(
    client: TestClient, curator_key: str
) -> None:
    etag = client.get("/v1/conditions/cidp").headers["etag"]
    headers = {"X-API-Key": curator_key, "If-Match": etag}

    def edit(n: int) -> Any:
        return client.patch("/v1/conditions/cidp", json={"summary": f"edit {n}"}, headers=headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(edit, range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [412] * 7
    kept = next(r for r in responses if r.status_code == 200).json()
    for refused in (r for r in responses if r.status_code == 412):
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/precondition-failed")
        assert "reload it and apply your change again" in refused.json()["detail"]
    assert client.get("/v1/conditions/cidp").json()["summary"] == kept["summary"]
