"""POST /v1/fhir/score and /v1/fhir/guidance: same result as /v1/score, FHIR output, bad FHIR."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from support.problems import assert_problem

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"
AS_OF = "2026-11-24"


def bundle(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def test_cidp_bundle_scores_like_v1_score(client: TestClient) -> None:
    response = client.post(
        "/v1/fhir/score", json={"bundle": bundle("cidp-ivig-falling-egfr"), "as_of": AS_OF}
    )
    assert response.status_code == 200, response.text
    data = response.json()
    derived = data["derived_case"]
    assert derived["condition_id"] == "cidp"
    assert derived["age_years"] == 58
    assert derived["egfr"]["value"] == 24
    assert derived["weight_kg"]["value"] == 84
    assert [(p["therapy_id"], p["ongoing"]) for p in derived["prior_treatments"]] == [
        ("ivig", True)
    ]
    assert {"thrombosis_history", "renal_impairment"} <= {
        r["risk_factor"] for r in derived["risk_factors"]
    }
    plain = client.post(
        "/v1/score",
        json={
            "condition": "cidp",
            "patient": {
                "age_years": 58,
                "egfr": 24,
                "platelet_count": 221,
                "weight_kg": 84,  # body weight (LOINC 29463-7): per-kg doses are costed by it
                "risk_factors": sorted(r["risk_factor"] for r in derived["risk_factors"]),
                # The active IVIG order is history (given, response unknown), never `[]`.
                "prior_treatments": [{"therapy_id": "ivig", "ongoing": True}],
            },
        },
    ).json()
    assert data["ranked"] == plain["ranked"]
    assert data["excluded"] == plain["excluded"]
    ivig = next(o for o in data["ranked"] if o["therapy_id"] == "ivig")
    assert "renal_impairment" in {c["code"] for c in ivig["cautions"]}


def test_bare_bundle_with_preferences_in_the_wrapper_or_not(client: TestClient) -> None:
    response = client.post("/v1/fhir/score", json=bundle("child-primary-immunodeficiency"))
    assert response.status_code == 200
    assert response.json()["derived_case"]["condition_id"] == "pi"
    weighted = client.post(
        "/v1/fhir/score",
        json={
            "bundle": bundle("child-primary-immunodeficiency"),
            "preferences": {"settings": ["home"], "region": "US"},
            "weights": {"convenience": 10},
            "method": "topsis",
        },
    )
    assert weighted.status_code == 200
    assert weighted.json()["method"] == "topsis"


@pytest.mark.parametrize("path", ["/v1/fhir/score?format=fhir", "/v1/fhir/guidance"])
def test_fhir_output_is_a_valid_guidance_response(client: TestClient, path: str) -> None:
    response = client.post(path, json={"bundle": bundle("adult-itp-bleeding"), "as_of": AS_OF})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    data = response.json()
    Bundle.model_validate(data)
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    assert kinds == ["GuidanceResponse", "RequestGroup"]
    guidance, group = (e["resource"] for e in data["entry"])
    assert guidance["result"]["reference"] == data["entry"][1]["fullUrl"]
    assert guidance["subject"] == {"reference": "Patient/itp-1"}
    assert group["intent"] == "option"
    assert group["action"][0]["action"]


def test_invalid_resource_is_422_naming_the_resource_and_path(client: TestClient) -> None:
    data = bundle("cidp-ivig-falling-egfr")
    data["entry"][9]["resource"]["valueQuantity"]["value"] = "low"
    response = client.post("/v1/fhir/score", json={"bundle": data})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert "Observation/egfr-2026a" in problem["detail"]
    assert "valueQuantity.value" in problem["detail"]
    assert problem["errors"][0]["resource"].startswith("Observation/egfr-2026a")
    assert problem["errors"][0]["path"] == "Observation.valueQuantity.value"


def test_unknown_element_is_named(client: TestClient) -> None:
    data = bundle("mmn-ivig-order")
    data["entry"][1]["resource"]["severity_level"] = "high"
    problem = client.post("/v1/fhir/score", json={"bundle": data}).json()
    assert problem["errors"][0]["path"] == "Condition.severity_level"


def test_no_covered_condition_is_422_with_the_derived_case(client: TestClient) -> None:
    data = bundle("mmn-ivig-order")
    data["entry"] = [e for e in data["entry"] if e["resource"]["resourceType"] != "Condition"]
    response = client.post("/v1/fhir/score", json={"bundle": data})
    assert response.status_code == 422
    assert response.json()["derived_case"]["unknown"][0] == "condition"


def test_several_conditions_need_a_choice(client: TestClient) -> None:
    data = bundle("cidp-ivig-falling-egfr")
    extra = copy.deepcopy(data["entry"][1])
    extra["resource"]["id"] = "c-itp"
    extra["resource"]["code"] = {
        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D69.3"}]
    }
    data["entry"].append(extra)
    response = client.post("/v1/fhir/score", json={"bundle": data})
    assert response.status_code == 422
    assert "cidp" in response.json()["detail"]
    assert "itp" in response.json()["detail"]
    chosen = client.post(
        "/v1/fhir/score",
        json={
            "bundle": data,
            "condition": {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D69.3"},
        },
    )
    assert chosen.status_code == 200
    assert chosen.json()["condition"]["id"] == "itp"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"bundle": {}},
        {"bundle": {"resourceType": "Patient"}},
        {"bundle": {"resourceType": "Bundle"}},
        {"bundle": {"resourceType": "Bundle", "type": "collection", "entry": "x"}},
        {"bundle": {"resourceType": "Bundle", "type": "nonsense"}},
        {"bundle": {"resourceType": "Bundle", "type": "collection", "entry": [1, {"x": 1}]}},
        {"bundle": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": 1}]}},
        {
            "bundle": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": {"resourceType": "Spaceship"}}],
            }
        },
        {
            "bundle": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {"resource": {"resourceType": "Patient", "birthDate": "3000-01-01"}},
                    {
                        "resource": {
                            "resourceType": "Condition",
                            "subject": {"reference": "Patient/x"},
                            "clinicalStatus": {"coding": [{"code": "active"}]},
                            "code": {
                                "coding": [
                                    {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G35"}
                                ]
                            },
                        }
                    },
                ],
            }
        },
        {"bundle": {"resourceType": "Bundle", "type": "collection"}, "condition": "nope"},
        {"bundle": {"resourceType": "Bundle", "type": "collection"}, "weights": {"cost": 99}},
    ],
)
def test_odd_inputs_never_500(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/fhir/score", json=body)
    assert response.status_code in {200, 400, 404, 422}, response.text
    if response.status_code != 200:
        assert response.headers["content-type"] == "application/problem+json"


def test_egfr_out_of_the_score_range_is_422(client: TestClient) -> None:
    data = bundle("cidp-ivig-falling-egfr")
    data["entry"][10]["resource"]["valueQuantity"]["value"] = 900
    response = client.post("/v1/fhir/score", json={"bundle": data, "as_of": AS_OF})
    assert response.status_code == 422
    assert "egfr" in response.json()["detail"]


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/fhir/score", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)
