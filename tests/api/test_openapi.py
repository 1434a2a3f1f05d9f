"""The OpenAPI document tells the truth: error statuses, media types, If-Match, Allow, types."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    schema: dict[str, Any] = client.get("/openapi.json").json()
    return schema


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_error_answer_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or (path.startswith("/cds-services") and status == "412"):
                continue  # CDS Hooks answers a missing prefetch with a FHIR OperationOutcome
            assert list(response.get("content", {})) == [PROBLEM], (path, method, status)
    assert "Problem" in document["components"]["schemas"]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/v1/therapies/{therapy_id}", "patch", {400, 401, 403, 404, 412, 413, 422, 428, 503}),
        ("/v1/therapies/{therapy_id}", "delete", {401, 403, 404, 409, 412, 428, 503}),
        ("/v1/sources", "post", {400, 401, 403, 409, 413, 422, 503}),
        ("/v1/score", "post", {400, 401, 404, 413, 422, 503}),
        ("/v1/therapies", "get", {400, 401, 422, 503}),
        ("/readyz", "get", {503}),
    ],
)
def test_the_statuses_a_route_returns_are_documented(
    document: dict[str, Any], path: str, method: str, statuses: set[int]
) -> None:
    documented = {int(s) for s in document["paths"][path][method]["responses"]}
    assert statuses <= documented


def test_if_match_is_required_where_its_absence_is_a_428(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        if_match = [p for p in operation.get("parameters", []) if p["name"].lower() == "if-match"]
        if method in ("patch", "delete") and path.startswith("/v1/"):
            assert if_match, (path, method)
        for parameter in if_match:
            assert parameter["required"] is True
            assert "428" in operation["responses"]


def test_reads_document_the_key_as_optional(document: dict[str, Any]) -> None:
    assert {} in document["paths"]["/v1/therapies"]["get"]["security"]
    assert {} not in document["paths"]["/v1/sources"]["post"]["security"]


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.put("/v1/therapies/ivig")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allowed


@pytest.mark.parametrize(
    "changes",
    [
        {"weights": {"efficacy": "5"}},
        {"preferences": {"urgent": 0}},
        {"preferences": {"urgent": "false"}},
        {"patient": {"age_years": "52"}},
        {"patient": {"egfr": True}},
        {"patient": {"pregnant": 0}},
        {"patient": {"prior_supervised_infusions": "3"}},
        {"patient": {"prior_treatments": [{"therapy_id": "ivig", "ongoing": 0}]}},
    ],
)
def test_score_types_are_strict(client: TestClient, changes: dict[str, Any]) -> None:
    response = client.post("/v1/score", json={"condition": "cidp", **changes})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("strength", ["3", 3.5, True])
def test_elicitation_strength_is_strict(client: TestClient, strength: Any) -> None:
    answer = {"question_id": "efficacy-safety", "prefer": "a", "strength": strength}
    response = client.post("/v1/preferences/elicit", json={"answers": [answer]})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "strength" in response.text


def test_whole_numbers_still_count_as_numbers(client: TestClient) -> None:
    body = {"condition": "cidp", "patient": {"age_years": 52}, "weights": {"efficacy": 5}}
    response = client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    # 5 of 10 for efficacy, the others at their default 5: equal normalised weights.
    assert response.json()["weights"]["efficacy"] == pytest.approx(1 / 6, abs=1e-6)
    assert response.json()["ranked"]
