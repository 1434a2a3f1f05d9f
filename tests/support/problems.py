"""The problem+json contract, checked in one place by the tests that expect an error."""

from __future__ import annotations

from typing import Any


def assert_problem(response: Any, status: int, *words: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and a detail naming `words`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"].startswith("https://")
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body
