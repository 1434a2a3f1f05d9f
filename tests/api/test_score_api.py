"""The POST /v1/score contract: shape, determinism, methods, bad input, batch, snapshot refresh."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.schemas.score import ScoreResponse
from api.settings import Settings

CRITERIA = ("efficacy", "safety", "convenience", "cost", "availability", "onset")
EXAMPLE: dict[str, Any] = {
    "condition": "cidp",
    "patient": {
        "age_years": 52,
        "weight_kg": 80,
        "egfr": 25,
        "pregnant": False,
        "risk_factors": ["thrombosis_history"],
        "prior_supervised_infusions": 0,
    },
    "preferences": {"settings": ["home"], "region": "US", "max_annual_cost": None, "urgent": False},
    "weights": {
        "efficacy": 5,
        "safety": 5,
        "convenience": 5,
        "cost": 5,
        "availability": 5,
        "onset": 5,
    },
}


def test_the_response_has_the_public_contract_fields(client: TestClient) -> None:
    response = client.post("/v1/score", json=EXAMPLE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert ScoreResponse.model_validate(body).model_dump(mode="json") == body
    assert {"catalog_version", "method", "ranked", "excluded", "stability"} <= set(body)
    assert body["method"] == "weighted_sum"
    assert "not a recommendation" in body["ordering_basis"]
    assert [o["rank"] for o in body["ranked"]] == list(range(1, len(body["ranked"]) + 1))
    scores = [o["score"] for o in body["ranked"]]
    assert scores == sorted(scores, reverse=True)
    for option in body["ranked"]:
        assert 0 <= option["score"] <= 1
        for part in option["criteria"].values():
            assert 0 <= part["value"] <= 1
            assert abs(part["contribution"] - part["value"] * part["weight"]) < 1e-5
            assert part["explanation"]
        assert option["evidence"]
        for caution in option["cautions"]:
            assert caution["code"]
            assert caution["message"]
    for exclusion in body["excluded"]:
        assert exclusion["reasons"]
        for reason in exclusion["reasons"]:
            assert reason["code"]
            assert reason["message"]
    assert abs(sum(body["weights"].values()) - 1) < 1e-6
    stability = body["stability"]
    assert stability["top_therapy_id"] == body["ranked"][0]["therapy_id"]
    assert {r["criterion"] for r in stability["weight_ranges"]} == set(body["weights"])


def test_same_input_same_bytes(client: TestClient) -> None:
    first = client.post("/v1/score", json=EXAMPLE)
    second = client.post("/v1/score", json=EXAMPLE)
    assert first.content == second.content


def test_condition_by_icd10_and_snomed_coding(client: TestClient) -> None:
    by_id = client.post("/v1/score", json=EXAMPLE).json()
    coded = {
        **EXAMPLE,
        "condition": {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G61.81"},
    }
    by_code = client.post("/v1/score", json=coded).json()
    assert by_code == by_id
    cidp = client.get("/v1/conditions/cidp").json()
    snomed = next(c for c in cidp["codes"] if c["system"] == "http://snomed.info/sct")
    coding = {"system": snomed["system"], "code": snomed["code"]}
    by_snomed = client.post("/v1/score", json={**EXAMPLE, "condition": coding})
    assert by_snomed.json()["condition"]["id"] == "cidp"


@pytest.mark.parametrize("where", ["body", "query"])
def test_topsis_method(client: TestClient, where: str) -> None:
    if where == "body":
        response = client.post("/v1/score", json={**EXAMPLE, "method": "topsis"})
    else:
        response = client.post("/v1/score?method=topsis", json=EXAMPLE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["method"] == "topsis"
    assert all(0 <= o["score"] <= 1 for o in body["ranked"])


def test_multiplying_weights_changes_nothing(client: TestClient) -> None:
    base = client.post("/v1/score", json={**EXAMPLE, "weights": {"efficacy": 2, "cost": 1}}).json()
    scaled = client.post(
        "/v1/score",
        json={
            **EXAMPLE,
            "weights": {
                "efficacy": 4,
                "cost": 2,
                "safety": 10,
                "convenience": 10,
                "availability": 10,
                "onset": 10,
            },
        },
    ).json()
    assert [o["therapy_id"] for o in base["ranked"]] == [o["therapy_id"] for o in scaled["ranked"]]


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"condition": "xyz"}, 404, "GET /v1/conditions"),
        (
            {"condition": {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "Z00.00"}},
            404,
            "GET /v1/conditions",
        ),
        ({"patient": {"risk_factors": ["unicorn_allergy"]}}, 422, "thrombosis_history"),
        ({"preferences": {"settings": ["spaceship"]}}, 422, "home"),
        ({"weights": {"happiness": 5}}, 422, "efficacy"),
        ({"weights": {"efficacy": 11}}, 422, "between 0 and 10"),
        (
            {
                "weights": dict.fromkeys(
                    ("efficacy", "safety", "convenience", "cost", "availability", "onset"), 0
                )
            },
            422,
            "zero",
        ),
        ({"patient": {"age_years": -1}}, 422, "age_years"),
        ({"patient": {"age_years": 400}}, 422, "age_years"),
        ({"patient": {"weight_kg": 0}}, 422, "weight_kg"),
        ({"patient": {"egfr": -5}}, 422, "egfr"),
        ({"patient": {"egfr": 900}}, 422, "egfr"),
        ({"patient": {"height_cm": 170}}, 422, "height_cm"),
        ({"preferences": {"region": "usa"}}, 422, "region"),
        ({"method": "vibes"}, 422, "topsis"),
    ],
)
def test_bad_input_gets_a_clear_answer(
    client: TestClient, change: dict[str, Any], status: int, needle: str
) -> None:
    response = client.post("/v1/score", json={**EXAMPLE, **change})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in json.dumps(response.json())


def test_batch_streams_one_line_per_case_in_order(client: TestClient) -> None:
    cases = [
        EXAMPLE,
        {"condition": "nope"},
        {**EXAMPLE, "condition": "pi"},
        {"condition": "mmn", "patient": {"age_years": -3}},
    ]
    response = client.post("/v1/score/batch", json={"cases": cases})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["index"] for line in lines] == [0, 1, 2, 3]
    assert lines[0]["result"] == client.post("/v1/score", json=EXAMPLE).json()
    assert lines[1]["error"]["status"] == 404
    assert lines[2]["result"]["condition"]["id"] == "pi"
    assert lines[3]["error"]["status"] == 422
    assert "age_years" in lines[3]["error"]["detail"]


def test_batch_refuses_too_many_cases(database_url: str) -> None:
    settings = Settings(
        _env_file=None, environment="test", database_url=database_url, batch_max_cases=2
    )
    with TestClient(create_app(settings)) as small:
        response = small.post("/v1/score/batch", json={"cases": [EXAMPLE] * 3})
    assert response.status_code == 422
    assert "at most 2" in response.json()["detail"]


def test_a_curator_write_refreshes_scoring_at_once(client: TestClient, curator_key: str) -> None:
    before = client.post("/v1/score", json=EXAMPLE).json()
    row = next(
        a for a in client.get("/v1/therapies/ivig").json()["availability"] if a["region"] == "US"
    )
    response = client.patch(
        f"/v1/availability/{row['id']}",
        json={"status": "unavailable"},
        headers={"X-API-Key": curator_key, "If-Match": f'"{row["revision"]}"'},
    )
    assert response.status_code == 200, response.text
    after = client.post("/v1/score", json=EXAMPLE).json()
    assert after["catalog_version"] == before["catalog_version"] + 1
    assert "ivig" not in [o["therapy_id"] for o in after["ranked"]]
    reasons = next(e for e in after["excluded"] if e["therapy_id"] == "ivig")["reasons"]
    assert "unavailable_in_region" in {r["code"] for r in reasons}


def test_another_process_sees_a_catalog_change(database_url: str, curator_key: str) -> None:
    """Two app instances on one database stand for two processes of one deployment."""

    def make() -> TestClient:
        return TestClient(
            create_app(
                Settings(
                    _env_file=None,
                    environment="test",
                    database_url=database_url,
                    catalog_refresh_seconds=0,
                )
            )
        )

    with make() as writer, make() as reader:
        before = reader.post("/v1/score", json=EXAMPLE).json()["catalog_version"]
        source = {"id": "another-process", "citation": "x", "kind": "other"}
        assert (
            writer.post("/v1/sources", json=source, headers={"X-API-Key": curator_key}).status_code
            == 201
        )
        assert reader.post("/v1/score", json=EXAMPLE).json()["catalog_version"] == before + 1
