"""Logs: one JSON object per line with time, level, logger and request id; no chatter."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from support.replicas import running_replicas


def test_serve_logs_json_lines_with_a_start_up_line_and_request_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tada.db'}"
    with running_replicas(url, count=1, workdir=tmp_path) as (api,):
        for _ in range(3):
            assert httpx.get(f"{api.url}/readyz", timeout=30).status_code == 200
        tagged = httpx.get(f"{api.url}/v1/therapies", headers={"X-Request-ID": "abc123"})
        assert tagged.headers["x-request-id"] == "abc123"
        api.stop()
        text = api.log()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    starting = next(line for line in lines if line["message"] == "starting")
    assert starting["database"] == url
    assert starting["workers"] == 1
    assert starting["catalog_version"] >= 1
    access = [line for line in lines if line["logger"] == "tada.access"]
    assert any(line.get("request_id") == "abc123" for line in access)
    assert all(line.get("request_id") for line in access)
    assert not [line for line in lines if line["logger"].startswith(("alembic", "sqlalchemy"))]


def test_the_start_up_line_hides_the_database_password() -> None:
    from api.cli import redacted

    shown = redacted("postgresql+psycopg://tada:s3cret@db:5432/tada")
    assert "s3cret" not in shown
    assert shown == "postgresql+psycopg://tada:***@db:5432/tada"
