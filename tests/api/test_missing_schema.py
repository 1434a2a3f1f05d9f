"""A reachable database without TADA's schema is a 503 problem naming the fix, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from db.migrations import downgrade


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/therapies", None),
        ("GET", "/v1/conditions/cidp", None),
        ("POST", "/v1/score", {"condition": "cidp"}),
        ("POST", "/v1/sources", {"id": "x", "citation": "x", "kind": "other"}),
    ],
)
def test_a_database_without_the_schema_is_a_503_problem(
    database_url: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    downgrade(database_url, "base")
    settings = Settings(_env_file=None, environment="test", database_url=database_url)
    headers = {"X-API-Key": "tada_000000000000_whatever"} if method == "POST" else {}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "tada db upgrade" in response.json()["detail"]
