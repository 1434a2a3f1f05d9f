"""EHR code lists, second pass: RxNorm-coded draft orders map to catalog therapies, and the
hepatitis B status comes from the record's HBsAg and anti-HBc results.

The orders use the documented `order-sign` example (`docs/examples/order-sign-ivig.json`) with
the draft's medication and the patient's condition swapped, so every RxNorm code below goes
through the same path an EHR order does. Each code is one the catalog cites a source for.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "order-sign-ivig.json"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
POSITIVE, NEGATIVE, INDETERMINATE = "10828004", "260385009", "82334004"
HBSAG, ANTI_HBC = "5196-1", "16933-4"


def _order_hook(hook_name: str, condition: str, rxnorm: str) -> dict[str, Any]:
    """The documented example as `hook_name`, for a patient with `condition` (ICD-10-CM) and a
    draft coded with RxNorm only."""
    body: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    body["hook"] = hook_name
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": rxnorm}]}
    draft["reasonCode"] = [{"coding": [{"system": ICD, "code": condition}]}]
    for entry in body["prefetch"]["conditions"]["entry"]:
        if entry["resource"]["id"] == "cidp":
            entry["resource"]["code"] = {"coding": [{"system": ICD, "code": condition}]}
    if hook_name == "order-select":
        body["context"]["selections"] = [f"MedicationRequest/{draft['id']}"]
    return body


ORDER_CODES = [
    ("G61.81", "2639957", "efgartigimod"),  # Vyvgart Hytrulo, openFDA
    ("G61.81", "2712088", "efgartigimod"),  # Vyvgart Hytrulo, openFDA
    ("G70.00", "700384", "eculizumab"),  # Soliris, openFDA
    ("G70.00", "2706345", "eculizumab"),  # Epysqli, openFDA
    ("G70.00", "2107325", "ravulizumab"),  # Ultomiris, openFDA
    ("G70.00", "2642294", "rozanolixizumab"),  # Rystiggo, openFDA
    ("G70.00", "903859", "pyridostigmine"),  # CDS Hooks sandbox medication list
    ("G70.00", "105611", "azathioprine"),  # CDS Hooks sandbox medication list
    ("G70.00", "616435", "mycophenolate"),  # CDS Hooks sandbox medication list
    ("D69.3", "825427", "eltrombopag"),  # CDS Hooks sandbox medication list
    ("G61.81", "2472327", "rituximab"),  # Riabni, openFDA
    ("G35.A", "1310531", "teriflunomide"),  # CDS Hooks sandbox medication list
    ("G35.A", "1012899", "s1p-modulators"),  # fingolimod, CDS Hooks sandbox
    ("G35.A", "1373497", "dimethyl-fumarate"),  # Tecfidera, openFDA
    ("G35.A", "1487361", "glatiramer"),  # glatiramer acetate, openFDA
    ("G35.A", "758025", "interferon-beta"),  # Rebif Rebidose, openFDA
    ("G35.A", "1656640", "alemtuzumab"),  # Lemtrada, NMDP CIBMTR value set
]


@pytest.mark.parametrize(("condition", "rxnorm", "therapy_id"), ORDER_CODES)
def test_an_rxnorm_draft_is_read_as_an_order_for_the_catalog_therapy(
    client: TestClient, condition: str, rxnorm: str, therapy_id: str
) -> None:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "d1",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm}]},
        "subject": {"reference": "Patient/p1"},
    }
    case = _score(client, _patient_with(draft, condition=condition))["derived_case"]
    assert [(o["therapy_id"], o["coding"]) for o in case["orders"]] == [
        (therapy_id, f"{RXNORM}|{rxnorm}")
    ]


@pytest.mark.parametrize("hook_name", ["order-select", "order-sign"])
@pytest.mark.parametrize(
    ("condition", "rxnorm", "therapy_id"),
    [
        ("G61.81", "2639957", "efgartigimod"),
        ("G70.00", "700384", "eculizumab"),
        ("G70.00", "903859", "pyridostigmine"),
        ("D69.3", "825427", "eltrombopag"),
        ("G35.A", "1310531", "teriflunomide"),
    ],
)
def test_an_rxnorm_draft_order_gives_a_card_for_its_therapy(
    client: TestClient, hook_name: str, condition: str, rxnorm: str, therapy_id: str
) -> None:
    """The documented example's patient (with heart failure) and an RxNorm-coded
    draft: each of these orders has something to say, so each gets its card. (An order that
    ranks first with no caution gets none: CDS Hooks asks services not to add noise.)"""
    service = "tada-ig-order-select" if hook_name == "order-select" else "tada-ig-order-sign"
    response = client.post(
        f"/cds-services/{service}", json=_order_hook(hook_name, condition, rxnorm)
    )
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    name = client.get(f"/v1/therapies/{therapy_id}").json()["name"]
    assert cards[0]["detail"].startswith(f"**The draft order for {name}")


# --------------------------------------------------------------------------------------------
# Hepatitis B status from the record's results
# --------------------------------------------------------------------------------------------


def _condition(code: str, rid: str = "main") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": ICD, "code": code}]},
        "subject": {"reference": "Patient/p1"},
    }


def _result(rid: str, test: str, value: str, when: str = "2026-10-01") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": test}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "valueCodeableConcept": {"coding": [{"system": SCT, "code": value}]},
    }


def _patient_with(*results: dict[str, Any], condition: str = "G35.A") -> dict[str, Any]:
    resources = [
        {"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-01"},
        _condition(condition),
        *results,
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _score(client: TestClient, bundle: dict[str, Any]) -> Any:
    response = client.post("/v1/fhir/score", json={"bundle": bundle, "as_of": "2026-11-30"})
    assert response.status_code == 200, response.text
    return response.json()


def _factors(case: dict[str, Any]) -> set[str]:
    return {r["risk_factor"] for r in case["risk_factors"]}


def test_hbsag_positive_is_active_hepatitis_b(client: TestClient) -> None:
    body = _score(client, _patient_with(_result("s", HBSAG, POSITIVE)))
    case = body["derived_case"]
    assert _factors(case) == {"hbv_active"}
    assert case["hbv_status"] == "active"
    assert "hbv_status" not in case["unknown"]
    # Reaches the engine: the ocrelizumab label's absolute rule for hepatitis B now.
    excluded = {e["therapy_id"]: [r["code"] for r in e["reasons"]] for e in body["excluded"]}
    assert "hbv_active" in excluded["ocrelizumab"]


def test_hbsag_negative_with_anti_hbc_positive_is_resolved_hepatitis_b(
    client: TestClient,
) -> None:
    body = _score(
        client, _patient_with(_result("s", HBSAG, NEGATIVE), _result("c", ANTI_HBC, POSITIVE))
    )
    case = body["derived_case"]
    assert _factors(case) == {"hbv_resolved"}
    assert case["hbv_status"] == "resolved"
    assert [r["source"] for r in case["risk_factors"]] == ["Observation/c"]
    cautions = {o["therapy_id"]: [c["code"] for c in o["cautions"]] for o in body["ranked"]}
    assert "hbv_reactivation" in cautions["ocrelizumab"]


def test_both_results_negative_is_no_hepatitis_b(client: TestClient) -> None:
    case = _score(
        client, _patient_with(_result("s", HBSAG, NEGATIVE), _result("c", ANTI_HBC, NEGATIVE))
    )["derived_case"]
    assert _factors(case) == set()
    assert case["hbv_status"] == "none"


def test_anti_hbc_positive_without_hbsag_is_past_or_present_not_guessed(
    client: TestClient,
) -> None:
    case = _score(client, _patient_with(_result("c", ANTI_HBC, POSITIVE)))["derived_case"]
    assert _factors(case) == {"hbv_positive"}
    assert case["hbv_status"] == "past_or_present"


@pytest.mark.parametrize(
    "results",
    [
        pytest.param([], id="no-results"),
        pytest.param([("s", HBSAG, NEGATIVE)], id="hbsag-negative-anti-hbc-missing"),
        pytest.param([("s", HBSAG, INDETERMINATE)], id="hbsag-indeterminate"),
        pytest.param(
            [("s", HBSAG, NEGATIVE), ("c", ANTI_HBC, INDETERMINATE)],
            id="anti-hbc-indeterminate",
        ),
    ],
)
def test_missing_or_indeterminate_results_leave_hepatitis_b_unknown(
    client: TestClient, results: list[tuple[str, str, str]]
) -> None:
    case = _score(client, _patient_with(*(_result(*r) for r in results)))["derived_case"]
    assert _factors(case) == set()
    assert case["hbv_status"] is None
    assert "hbv_status" in case["unknown"]
    if results:
        assert any("hbsag" in n or "anti_hbc" in n or "HBsAg" in n for n in case["notes"])


def test_the_latest_hbsag_result_counts(client: TestClient) -> None:
    case = _score(
        client,
        _patient_with(
            _result("old", HBSAG, POSITIVE, when="2020-01-01"),
            _result("new", HBSAG, NEGATIVE, when="2026-09-01"),
            _result("c", ANTI_HBC, POSITIVE),
        ),
    )["derived_case"]
    assert _factors(case) == {"hbv_resolved"}


def test_patient_view_prefetch_asks_for_the_hepatitis_b_tests(client: TestClient) -> None:
    services = client.get("/cds-services").json()["services"]
    prefetch = {s["id"]: s["prefetch"] for s in services}["tada-patient-view"]
    assert f"{LOINC}|{HBSAG}" in prefetch["hbsag"]
    assert f"{LOINC}|{ANTI_HBC}" in prefetch["anti_hbc"]


def test_hepatitis_b_results_in_prefetch_reach_the_card(client: TestClient) -> None:
    body = copy.deepcopy(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    body["hook"] = "patient-view"
    del body["context"]["draftOrders"]
    results = [_result("s", HBSAG, NEGATIVE), _result("c", ANTI_HBC, POSITIVE)]
    for result in results:
        result["subject"] = {"reference": "Patient/cidp-hf-1"}
    body["prefetch"]["hbsag"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": results[0]}],
    }
    body["prefetch"]["anti_hbc"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": results[1]}],
    }
    response = client.post("/cds-services/tada-patient-view", json=body)
    assert response.status_code == 200, response.text
    assert "hbv_resolved" in response.json()["cards"][0]["detail"]


def test_the_documented_efgartigimod_rxnorm_example_gives_a_card(client: TestClient) -> None:
    """docs/ehr-integration.md, "Registering the service", step 4: a draft coded with RxNorm
    only (Vyvgart Hytrulo) for the documented CIDP patient with heart failure."""
    example = EXAMPLE.with_name("order-sign-efgartigimod-rxnorm.json")
    response = client.post(
        "/cds-services/tada-ig-order-sign",
        content=example.read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert card["detail"].startswith(
        "**The draft order for Efgartigimod (FcRn blocker; Vyvgart, Vyvgart Hytrulo)"
    )
