"""Regressions from an adversarial review: inputs that once produced a 500, a cut stream, an
unaudited loss or a stuck server. Each test names what it once did."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

FHIR = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def _lines(response: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line]


# --- encoding -------------------------------------------------------------------------------


def test_a_lone_surrogate_echoed_in_a_404_is_still_json(client: TestClient) -> None:
    """Was a 500: the error detail quoted the id and UTF-8 cannot encode a lone surrogate."""
    response = client.post(
        "/v1/score",
        content=b'{"condition": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    body = _problem(response, 404)
    assert "\ud800" in body["detail"]


# --- batch ----------------------------------------------------------------------------------


def test_batch_keeps_streaming_past_a_bad_case(client: TestClient) -> None:
    """Was a 200 with an empty body: one case's error ended the stream for all."""
    response = client.post(
        "/v1/score/batch",
        content=b'{"cases": [{"condition": "cidp"}, {"condition": "\\ud800"}, 5, '
        b'{"condition": "cidp"}]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    lines = _lines(response)
    assert [line["index"] for line in lines] == [0, 1, 2, 3]
    assert "result" in lines[0]
    assert lines[1]["error"]["status"] == 404
    assert lines[2]["error"]["status"] == 422  # not an object: its own error, not the batch's
    assert "result" in lines[3]


# --- numbers and ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/indications/99999999999999999999999",
        "/v1/audit?since_version=99999999999999999999999",
    ],
)
def test_out_of_range_ids_are_422(client: TestClient, curator_key: str, path: str) -> None:
    """Was a 500 (driver overflow)."""
    _problem(client.get(path, headers={"X-API-Key": curator_key}), 422)


def test_a_cost_too_large_to_score_is_refused(client: TestClient, curator_key: str) -> None:
    """Was accepted, then every GB score for CIDP failed with OverflowError."""
    response = client.post(
        "/v1/therapies/ivig/costs",
        json={
            "amount": 1e308,
            "currency": "GBP",
            "basis": "per_month",
            "region": "GB",
            "year": 2024,
            "source": "article-ivig-2024",
        },
        headers={"X-API-Key": curator_key},
    )
    assert "amount" in _problem(response, 422)["detail"]
    scored = client.post("/v1/score", json={"condition": "cidp", "preferences": {"region": "GB"}})
    assert scored.status_code == 200, scored.text
    assert scored.json()["condition"]["id"] == "cidp"
    assert scored.json()["ranked"]


def test_if_match_with_a_non_ascii_digit_is_422(client: TestClient, curator_key: str) -> None:
    """Was a 500: '²'.isdigit() is true but int('²') fails."""
    response = client.patch(
        "/v1/therapies/ivig",
        json={"onset_days": 3},
        headers={b"X-API-Key": curator_key.encode(), b"If-Match": b'"\xb2"'},
    )
    _problem(response, 422)


def test_an_absurd_fhir_lab_value_is_not_used(client: TestClient) -> None:
    """Was a 500: 1e400 became inf, which JSON cannot carry."""
    bundle = json.loads((FHIR / "cidp-ivig-falling-egfr.json").read_text())
    for entry in bundle["entry"]:
        quantity = entry["resource"].get("valueQuantity")
        if quantity is not None:
            quantity["value"] = "1" + "0" * 400
    raw = json.dumps(bundle).replace('"1' + "0" * 400 + '"', "1" + "0" * 400)
    response = client.post(
        "/v1/fhir/score",
        content=('{"bundle": ' + raw + "}").encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (200, 422), response.text
    assert "out of any plausible range" in response.text


def test_feedback_with_a_timestamp_past_year_9999_is_422(client: TestClient) -> None:
    """Was a 500 (OverflowError converting to UTC)."""
    response = client.post(
        "/cds-services/tada-patient-view/feedback",
        json={
            "feedback": [
                {
                    "card": "c-1",
                    "outcome": "overridden",
                    "overrideReason": {"userComment": "no"},
                    "outcomeTimestamp": "9999-12-31T23:59:59-12:00",
                }
            ]
        },
    )
    _problem(response, 422)


# --- audit ----------------------------------------------------------------------------------


def test_deleting_a_condition_keeps_what_cascaded_in_the_audit_log(
    client: TestClient, curator_key: str
) -> None:
    """Was one audit entry for the condition only: its indications vanished unrecorded."""
    etag = client.get("/v1/conditions/gbs").headers["etag"]
    before = client.get("/v1/indications?condition=gbs").json()["items"]
    assert before
    response = client.delete(
        "/v1/conditions/gbs", headers={"X-API-Key": curator_key, "If-Match": etag}
    )
    assert response.status_code == 204
    entry = client.get(
        "/v1/audit?entity=condition&entity_id=gbs", headers={"X-API-Key": curator_key}
    ).json()["items"][0]
    cascaded = entry["before"]["cascaded"]
    assert {i["therapy"] for i in cascaded["indications"]} == {i["therapy"] for i in before}
    assert entry["at"].endswith(("Z", "+00:00"))


def test_deleting_a_therapy_keeps_its_indications_in_the_audit_log(
    client: TestClient, curator_key: str
) -> None:
    etag = client.get("/v1/therapies/rituximab").headers["etag"]
    response = client.delete(
        "/v1/therapies/rituximab", headers={"X-API-Key": curator_key, "If-Match": etag}
    )
    assert response.status_code == 204
    entry = client.get(
        "/v1/audit?entity=therapy&entity_id=rituximab", headers={"X-API-Key": curator_key}
    ).json()["items"][0]
    conditions = {i["condition"] for i in entry["before"]["cascaded"]["indications"]}
    assert {"pi", "itp", "ms"} <= conditions


# --- concurrency ----------------------------------------------------------------------------


def test_a_burst_of_unkeyed_writes_does_not_block_the_service(client: TestClient) -> None:
    """Was a 30 s stall and 500s: each write held a pooled connection (and SQLite's write
    lock) while the key check waited for a second one."""
    problems: list[dict[str, Any]] = []

    def write() -> None:
        response = client.post("/v1/sources", json={"id": "x", "citation": "y"})
        problems.append(_problem(response, 401))

    threads = [threading.Thread(target=write) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(problems) == 24
    assert {(p["type"], p["title"]) for p in problems} == {
        ("https://tada.example.org/problems/unauthorized", "Unauthorized")
    }


@pytest.mark.parametrize(
    "path",
    [
        "/v1/therapies/%00",
        "/v1/conditions/a%00b",
        "/v1/therapies?condition=%00",
        "/v1/conditions?code=%00",
    ],
)
def test_a_nul_in_the_url_is_400_on_every_database(client: TestClient, path: str) -> None:
    """Was a 404 on SQLite and a 500 on PostgreSQL (which cannot hold a NUL)."""
    _problem(client.get(path), 400)


def test_a_nul_in_a_stored_text_never_gives_a_500(client: TestClient, curator_key: str) -> None:
    """PostgreSQL cannot hold a NUL in text and SQLite would: both refuse it the same way, by
    the record's storability check (`db.storable`), with the field's path."""
    response = client.post(
        "/v1/sources",
        json={"id": "nul-test", "citation": "a\u0000b"},
        headers={"X-API-Key": curator_key},
    )
    problem = _problem(response, 422)
    assert "citation: must not contain a NUL character" in problem["detail"]
    assert problem["errors"] == [
        {"path": "citation", "message": "must not contain a NUL character", "type": "nul_character"}
    ]
    assert "nul-test" not in {s["id"] for s in client.get("/v1/sources").json()["items"]}


def test_an_unexpected_error_is_a_problem_with_the_request_id() -> None:
    """Was answered outside the request-id middleware: no X-Request-ID, connection dropped."""
    from starlette.types import Receive, Scope, Send

    from api.middleware import RequestLogMiddleware

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    raw = TestClient(RequestLogMiddleware(broken), raise_server_exceptions=False)  # no lifespan
    response = raw.get("/anything", headers={"X-Request-ID": "req-42"})
    body = _problem(response, 500)
    assert "boom" not in body["detail"]
    assert response.headers["x-request-id"] == "req-42"


def test_scoring_on_an_empty_catalog_is_503_naming_the_load_command(tmp_path: Path) -> None:
    """Was a 500 (LookupError) on a migrated database with no catalog loaded."""
    from api.app import create_app
    from api.settings import Settings
    from db.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, environment="test", database_url=url, warm_up=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as empty:
        body = _problem(empty.post("/v1/score", json={"condition": "cidp"}), 503)
    assert "tada catalog load" in body["detail"]
