"""Every error is application/problem+json with a clear detail; nothing produces a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def _is_problem(response: Any, status: int) -> dict[str, object]:
    assert response.status_code == status
    headers = response.headers
    assert headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["type"], str)
    assert isinstance(body["title"], str)
    return body


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/score", content=b'{"condition": "cidp",', headers={"content-type": "application/json"}
    )
    body = _is_problem(response, 400)
    assert "JSON" in str(body["detail"])


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    _is_problem(client.get("/v2/nothing"), 404)


def test_wrong_method_is_a_405_problem(client: TestClient) -> None:
    _is_problem(client.delete("/v1/therapies"), 405)


def test_body_over_the_limit_is_413(database_url: str) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        max_body_bytes=2048,
    )
    with TestClient(create_app(settings)) as small:
        body = (
            '{"condition": "cidp", "patient": {"risk_factors": [' + ",".join(['"x"'] * 2000) + "]}}"
        )
        response = small.post(
            "/v1/score", content=body, headers={"content-type": "application/json"}
        )
    body_json = _is_problem(response, 413)
    assert "2048" in str(body_json["detail"])


def test_streamed_body_over_the_limit_is_413(database_url: str) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        max_body_bytes=2048,
    )

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    with TestClient(create_app(settings)) as small:
        response = small.post(
            "/v1/score", content=chunks(), headers={"content-type": "application/json"}
        )
    _is_problem(response, 413)


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"null",
        b'"cidp"',
        b'{"condition": 5}',
        b'{"condition": {"system": "x"}}',
        b'{"condition": "cidp", "patient": []}',
        b'{"condition": "cidp", "weights": {"efficacy": "high"}}',
        b'{"condition": "cidp", "patient": {"age_years": 1e309}}',
        '{"condition": "\u0000\u202e"}'.encode(),
    ],
)
def test_odd_bodies_never_500(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code in {400, 404, 422}, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_responses_carry_a_request_id(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
