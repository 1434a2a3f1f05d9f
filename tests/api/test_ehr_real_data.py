"""EHR intake on real-world data: the Synthea patient as sent, paginated prefetch and fetched
searchsets, `urn:uuid` references, the code families real records use, draft orders as EHRs
send them, and CORS on every error answer.

The Synthea patient (`../shared/fixtures/synthea-cidp-patient.json.gz`, relative to the
repository root, as on CI) is used unchanged: 844 entries linked by `urn:uuid` fullUrls, units
as Synthea reports them, one CIDP Condition added.
"""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.fhir_server import PagingFhirServer

from api.app import create_app
from api.settings import Settings

SYNTHEA = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / "synthea-cidp-patient.json.gz"
)
PATIENT_ID = "7217c081-64cf-4e6c-b023-05c2e2dcf50c"
PATIENT_VIEW = "/cds-services/tada-patient-view"
ORDER_SELECT = "/cds-services/tada-ig-order-select"
ORDER_SIGN = "/cds-services/tada-ig-order-sign"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
TOKEN = "ehr-access-token-for-tada"
ORIGIN = "https://sandbox.cds-hooks.org"


@cache
def synthea_bytes() -> bytes:
    if not SYNTHEA.is_file():
        pytest.fail(
            f"The Synthea fixture is missing: {SYNTHEA}. It is external test data kept in "
            "../shared/fixtures/ beside the repository (CI has it there too)."
        )
    return gzip.decompress(SYNTHEA.read_bytes())


def synthea_bundle() -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(synthea_bytes())
    return bundle


def synthea_store() -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The Synthea resources and their fullUrls (kept, so `urn:uuid` links still resolve)."""
    entries = synthea_bundle()["entry"]
    store = [e["resource"] for e in entries]
    return store, {id(e["resource"]): e["fullUrl"] for e in entries}


@pytest.fixture
def templates(client: TestClient) -> dict[str, dict[str, str]]:
    services = client.get("/cds-services").json()["services"]
    return {s["id"]: s["prefetch"] for s in services}


@pytest.fixture
def synthea_server() -> Iterator[PagingFhirServer]:
    store, full_urls = synthea_store()
    with PagingFhirServer(store, page_size=2, full_urls=full_urls) as server:
        yield server


def hook(hook_name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook_name,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-lee", "patientId": PATIENT_ID},
    }
    body.update(extra)
    return body


def authorization(server: PagingFhirServer) -> dict[str, Any]:
    return {
        "fhirServer": server.url,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "tada",
            "patient": PATIENT_ID,
        },
    }


def age_today(birth: date) -> int:
    today = date.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


# --------------------------------------------------------------------------------------------
# The Synthea patient, end to end
# --------------------------------------------------------------------------------------------


def test_synthea_patient_scores_from_the_bundle_as_sent(client: TestClient) -> None:
    """1.1 MB, 844 entries, every reference a urn:uuid: the condition, age, kidney function,
    heart failure and weight are derived; nothing is guessed."""
    response = client.post(
        "/v1/fhir/score",
        content=synthea_bytes(),
        headers={"Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 200, response.text
    case = response.json()["derived_case"]
    assert case["patient"] == f"Patient/{PATIENT_ID}"
    assert case["condition_id"] == "cidp"
    assert case["age_years"] == age_today(date(1953, 4, 23))
    assert case["egfr"]["code"] == f"{LOINC}|33914-3"
    assert case["egfr"]["unit"] == "mL/min/{1.73_m2}"
    assert "not normalised to a body surface" in case["egfr"]["note"]
    assert len(case["egfr_history"]) == 5
    assert {r["risk_factor"]: r["coding"] for r in case["risk_factors"]} == {
        "heart_failure": f"{SCT}|88805009"
    }
    assert case["weight_kg"]["unit"] == "kg"
    assert 30 < case["weight_kg"]["value"] < 150
    assert case["platelet_count"]["unit"] == "10*9/L"
    assert case["prior_treatments"] is None  # no catalog therapy in the record: unknown
    assert "prior_treatments" in case["unknown"]
    assert case["skipped"] == []
    ranked = response.json()["ranked"]
    ivig = next(o for o in ranked if o["therapy_id"] == "ivig")
    assert any("heart" in c["message"].lower() for c in ivig["cautions"])


def test_synthea_patient_over_the_fhir_body_limit_is_413_with_cors(database_url: str) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0,
        cds_jwt_disabled=True,
        warm_up=False,
        fhir_max_body_bytes=500_000,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as small:
        response = small.post(
            "/v1/fhir/score",
            content=synthea_bytes(),
            headers={"Content-Type": "application/json", "Origin": ORIGIN},
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["access-control-allow-origin"] in {"*", ORIGIN}


def test_patient_view_with_paginated_prefetch_follows_next_with_the_token(
    client: TestClient,
    synthea_server: PagingFhirServer,
    templates: dict[str, dict[str, str]],
) -> None:
    """The EHR prefetches page 1 of each searchset; the CIDP Condition is on a later page, so
    TADA follows `next` on fhirServer with the bearer token."""
    prefetch = {
        key: synthea_server.first_page(template, PATIENT_ID)
        for key, template in templates["tada-patient-view"].items()
    }
    first_conditions = [e["resource"] for e in prefetch["conditions"]["entry"]]
    assert all(c["code"]["coding"][0]["code"] != "G61.81" for c in first_conditions)
    assert prefetch["conditions"]["link"][0]["relation"] == "next"
    synthea_server.requests.clear()
    response = client.post(
        PATIENT_VIEW, json=hook("patient-view", prefetch=prefetch, **authorization(synthea_server))
    )
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    assert "CIDP" in cards[0]["summary"] or "demyelinating" in cards[0]["summary"].lower()
    assert "heart_failure" in cards[0]["detail"]
    assert "not normalised to a body surface" in cards[0]["detail"]
    paths = [path for path, _ in synthea_server.requests]
    assert any(p.startswith("/fhir/Condition?") and "_offset=" in p for p in paths)
    # A key that asks for the newest N (`_count`) stops once it has N: weight (_count=1) is
    # complete on page 1, eGFR (_count=5, 2 a page) needs two more pages and no others.
    assert not any("29463-7" in p for p in paths)
    assert len([p for p in paths if "33914-3" in p]) == 2
    assert {auth for _, auth in synthea_server.requests} == {f"Bearer {TOKEN}"}


def test_patient_view_without_prefetch_fetches_page_by_page(
    client: TestClient, synthea_server: PagingFhirServer
) -> None:
    synthea_server.requests.clear()
    response = client.post(PATIENT_VIEW, json=hook("patient-view", **authorization(synthea_server)))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    assert "heart_failure" in cards[0]["detail"]
    condition_pages = [p for p, _ in synthea_server.requests if p.startswith("/fhir/Condition")]
    assert len(condition_pages) >= 3  # 5 active conditions, 2 a page


def test_next_link_to_another_server_is_not_followed(
    client: TestClient,
    synthea_server: PagingFhirServer,
    templates: dict[str, dict[str, str]],
) -> None:
    """The token only ever goes to fhirServer: a `next` elsewhere is not followed, and the
    required conditions stay incomplete, so the answer is 412, not a card built on page 1."""
    synthea_server.next_base = "http://127.0.0.1:9/elsewhere"
    prefetch = {
        key: synthea_server.first_page(template, PATIENT_ID)
        for key, template in templates["tada-patient-view"].items()
    }
    synthea_server.requests.clear()
    response = client.post(
        PATIENT_VIEW, json=hook("patient-view", prefetch=prefetch, **authorization(synthea_server))
    )
    assert response.status_code == 412
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["conditions"]
    assert "another server" in issue["details"]["text"]
    assert not any(p.startswith("/fhir/Condition") for p, _ in synthea_server.requests)


def test_a_relative_next_link_is_read_against_fhir_server(
    client: TestClient,
    synthea_server: PagingFhirServer,
    templates: dict[str, dict[str, str]],
) -> None:
    prefetch = {
        key: synthea_server.first_page(template, PATIENT_ID)
        for key, template in templates["tada-patient-view"].items()
    }
    link = prefetch["conditions"]["link"][0]
    link["url"] = link["url"].removeprefix(synthea_server.url + "/")
    assert link["url"].startswith("Condition?")
    response = client.post(
        PATIENT_VIEW, json=hook("patient-view", prefetch=prefetch, **authorization(synthea_server))
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 1


def test_paginated_prefetch_without_fhir_server_is_412(
    client: TestClient,
    synthea_server: PagingFhirServer,
    templates: dict[str, dict[str, str]],
) -> None:
    prefetch = {
        key: synthea_server.first_page(template, PATIENT_ID)
        for key, template in templates["tada-patient-view"].items()
    }
    response = client.post(PATIENT_VIEW, json=hook("patient-view", prefetch=prefetch))
    assert response.status_code == 412
    assert response.json()["issue"][0]["expression"] == ["conditions"]


def test_pages_are_bounded(database_url: str, synthea_server: PagingFhirServer) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0,
        cds_jwt_disabled=True,
        warm_up=False,
        cds_fetch_max_pages=2,
        cds_fetch_budget_seconds=30,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as bounded:
        response = bounded.post(
            PATIENT_VIEW, json=hook("patient-view", **authorization(synthea_server))
        )
    assert response.status_code == 412
    assert "more than 2 pages" in response.json()["issue"][0]["details"]["text"]


def test_an_exhausted_time_budget_is_412_not_a_partial_card(
    database_url: str, synthea_server: PagingFhirServer
) -> None:
    """A budget below the 10 ms a request needs at least is spent before the first request:
    deterministic, no timing involved."""
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0,
        cds_jwt_disabled=True,
        warm_up=False,
        cds_fetch_budget_seconds=0.001,
    )
    synthea_server.requests.clear()
    with TestClient(create_app(settings), raise_server_exceptions=False) as hurried:
        response = hurried.post(
            PATIENT_VIEW, json=hook("patient-view", **authorization(synthea_server))
        )
    assert response.status_code == 412
    assert "time budget" in response.json()["issue"][0]["details"]["text"]
    assert synthea_server.requests == []


# --------------------------------------------------------------------------------------------
# References through fullUrl
# --------------------------------------------------------------------------------------------


def _condition(code: str, subject: str, system: str = ICD, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": subject},
        **extra,
    }


def _bundle(*entries: tuple[str | None, dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {**({"fullUrl": url} if url else {}), "resource": resource} for url, resource in entries
        ],
    }


def _score(client: TestClient, bundle: dict[str, Any], **extra: Any) -> Any:
    return client.post("/v1/fhir/score", json={"bundle": bundle, "as_of": "2026-11-30", **extra})


def test_urn_uuid_and_absolute_references_resolve(client: TestClient) -> None:
    patient = "urn:uuid:9a4c1e52-0b1f-4d43-9a53-0e1c2f1f6a01"
    medication = "urn:uuid:1f0b7c61-5a2b-4c7e-8f5e-9d2c3b4a5e6f"
    bundle = _bundle(
        (patient, {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}),
        (None, _condition("G61.81", patient, id="c1")),
        (None, _condition("I50.22", "https://ehr.example.org/fhir/Patient/p1", id="c2")),
        (
            medication,
            {
                "resourceType": "Medication",
                "id": "m1",
                "code": {"coding": [{"system": RXNORM, "code": "1657866"}]},
            },
        ),
        (
            None,
            {
                "resourceType": "MedicationRequest",
                "id": "o1",
                "status": "active",
                "intent": "order",
                "medicationReference": {"reference": medication},
                "subject": {"reference": patient},
            },
        ),
    )
    response = _score(client, bundle)
    assert response.status_code == 200, response.text
    case = response.json()["derived_case"]
    assert case["condition_id"] == "cidp"
    assert [r["risk_factor"] for r in case["risk_factors"]] == ["heart_failure"]
    assert [(o["therapy_id"], o["resource_id"]) for o in case["orders"]] == [
        ("rituximab", "MedicationRequest/o1")
    ]
    assert case["prior_treatments"] == [
        {
            "therapy_id": "rituximab",
            "ongoing": True,
            "coding": f"{RXNORM}|1657866",
            "source": "MedicationRequest/o1",
            "reason_condition_ids": [],
        }
    ]


def test_a_urn_reference_to_another_patient_is_set_aside(client: TestClient) -> None:
    bundle = _bundle(
        ("urn:uuid:a", {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}),
        (None, _condition("G61.81", "urn:uuid:a", id="c1")),
        (None, _condition("I50.22", "Patient/p2", id="c2")),
    )
    case = _score(client, bundle).json()["derived_case"]
    assert case["risk_factors"] == []
    assert any("Patient/p2" in n for n in case["notes"])


# --------------------------------------------------------------------------------------------
# Code families real records use (catalog code lists)
# --------------------------------------------------------------------------------------------


def _with(*resources: dict[str, Any], condition: str = "G61.81") -> dict[str, Any]:
    return _bundle(
        (None, {"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-01"}),
        (None, _condition(condition, "Patient/p1", id="main")),
        *((None, r) for r in resources),
    )


@pytest.mark.parametrize(
    ("system", "code", "factor"),
    [
        (SCT, "88805009", "heart_failure"),
        (SCT, "42343007", "heart_failure"),
        (SCT, "128053003", "thrombosis_history"),
        (SCT, "433144002", "renal_impairment"),
        (ICD, "I82.401", "thrombosis_history"),
        (ICD, "I26.99", "thrombosis_history"),
        (ICD, "B18.1", "hbv_active"),
        (ICD, "B16.9", "hbv_active"),
    ],
)
def test_risk_factor_codes_and_descendants(
    client: TestClient, system: str, code: str, factor: str
) -> None:
    case = _score(client, _with(_condition(code, "Patient/p1", system=system, id="rf"))).json()
    assert factor in {r["risk_factor"] for r in case["derived_case"]["risk_factors"]}


@pytest.mark.parametrize("code", ["Z34.00", "Z33.1", "O09.511", "Z3A.20"])
def test_icd10cm_pregnancy_codes_mean_pregnant(client: TestClient, code: str) -> None:
    bundle = _with(_condition(code, "Patient/p1", id="preg"), condition="G35.A")
    assert _score(client, bundle).json()["derived_case"]["pregnant"] is True


def test_snomed_idiopathic_thrombocytopenic_purpura_is_itp(client: TestClient) -> None:
    bundle = _bundle(
        (None, {"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-01"}),
        (None, _condition("32273002", "Patient/p1", system=SCT, id="itp")),
    )
    assert _score(client, bundle).json()["derived_case"]["condition_id"] == "itp"


def test_normal_pregnancy_condition_means_pregnant(client: TestClient) -> None:
    """Synthea records pregnancy as an active 72892002 Condition; an MS patient with it must be
    read as pregnant (it changes which options are safe)."""
    bundle = _with(_condition("72892002", "Patient/p1", system=SCT, id="preg"), condition="G35.A")
    response = _score(client, bundle)
    case = response.json()["derived_case"]
    assert case["pregnant"] is True
    assert case["pregnancy_source"] == "Condition/preg"
    assert case["condition_id"] == "ms"
    excluded = {
        e["therapy_id"]: [r["code"] for r in e["reasons"]] for e in response.json()["excluded"]
    }
    assert "pregnancy_contraindication" in excluded["hsct"]


def _observation(code: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o-{code}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-10-01",
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
        **extra,
    }


@pytest.mark.parametrize(
    ("unit", "value", "kg"),
    [("kg", 70, 70.0), ("[lb_av]", 154, 69.853225), ("g", 70500, 70.5)],
)
def test_body_weight_in_ucum_units(client: TestClient, unit: str, value: float, kg: float) -> None:
    case = _score(client, _with(_observation("29463-7", value, unit))).json()["derived_case"]
    assert case["weight_kg"]["value"] == pytest.approx(kg)
    assert case["weight_kg"]["unit"] == "kg"
    assert "weight_kg" not in case["unknown"]


@pytest.mark.parametrize(
    ("unit", "note"),
    [("mL/min/{1.73_m2}", None), ("mL/min/1.73m2", None), ("mL/min", "not normalised")],
)
def test_egfr_annotation_is_explicit(client: TestClient, unit: str, note: str | None) -> None:
    case = _score(client, _with(_observation("33914-3", 42, unit))).json()["derived_case"]
    assert case["egfr"]["value"] == 42
    if note is None:
        assert case["egfr"]["note"] is None
    else:
        assert note in case["egfr"]["note"]
        assert any(note in n for n in case["notes"])


def test_egfr_in_a_unit_of_another_dimension_is_not_used(client: TestClient) -> None:
    case = _score(client, _with(_observation("33914-3", 1.2, "mg/dL"))).json()["derived_case"]
    assert case["egfr"] is None
    assert "egfr" in case["unknown"]


def test_treatment_history_from_administrations_and_procedures(client: TestClient) -> None:
    administration = {
        "resourceType": "MedicationAdministration",
        "id": "adm1",
        "status": "completed",
        "medicationCodeableConcept": {"coding": [{"system": NDC, "code": "44206-437-10"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2025-03-01",
    }
    procedure = {
        "resourceType": "Procedure",
        "id": "pe1",
        "status": "completed",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "36514"}]},
        "subject": {"reference": "Patient/p1"},
    }
    cancelled = {**procedure, "id": "pe2", "status": "not-done"}
    case = _score(client, _with(administration, procedure, cancelled)).json()["derived_case"]
    found = {(p["therapy_id"], p["ongoing"], p["source"]) for p in case["prior_treatments"]}
    assert found == {
        ("ivig", False, "MedicationAdministration/adm1"),
        ("plasma-exchange", False, "Procedure/pe1"),
    }


# --------------------------------------------------------------------------------------------
# Draft orders as EHRs send them
# --------------------------------------------------------------------------------------------


def _draft(**fields: Any) -> dict[str, Any]:
    draft: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": NDC, "code": "44206-437-10", "display": "Privigen 10 g/100 mL"}]
        },
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    draft.update(fields)
    return {key: value for key, value in draft.items() if value is not None}


def _synthea_prefetch(templates: dict[str, str]) -> dict[str, Any]:
    store, full_urls = synthea_store()
    with PagingFhirServer(store, page_size=1000, full_urls=full_urls) as server:
        return {key: server.first_page(template, PATIENT_ID) for key, template in templates.items()}


@pytest.mark.parametrize(
    ("path", "hook_name", "service"),
    [
        (ORDER_SELECT, "order-select", "tada-ig-order-select"),
        (ORDER_SIGN, "order-sign", "tada-ig-order-sign"),
    ],
)
@pytest.mark.parametrize(
    "medication",
    [
        {"system": NDC, "code": "44206-437-10", "display": "Privigen 10 g/100 mL"},
        {"system": RXNORM, "code": "1657866", "display": "rituximab 10 MG/ML Injection [Rituxan]"},
    ],
    ids=["ivig-ndc", "rituximab-rxnorm"],
)
def test_a_real_draft_order_gives_a_card(
    client: TestClient,
    templates: dict[str, dict[str, str]],
    path: str,
    hook_name: str,
    service: str,
    medication: dict[str, str],
) -> None:
    draft = _draft(medicationCodeableConcept={"coding": [medication]})
    body = hook(hook_name, prefetch=_synthea_prefetch(templates[service]))
    body["context"]["draftOrders"] = _bundle((None, draft))
    if hook_name == "order-select":
        body["context"]["selections"] = ["MedicationRequest/draft-1"]
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    assert cards[0]["indicator"] in {"info", "warning", "critical"}


def test_ivig_draft_for_a_patient_with_heart_failure_is_a_warning(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = hook("order-sign", prefetch=_synthea_prefetch(templates["tada-ig-order-sign"]))
    body["context"]["draftOrders"] = _bundle((None, _draft()))
    card = client.post(ORDER_SIGN, json=body).json()["cards"][0]
    assert card["indicator"] == "warning"
    assert "heart failure" in card["detail"].lower()
    actions = card["suggestions"][0]["actions"]
    assert actions[0] == {
        "type": "delete",
        "description": "Remove the draft order MedicationRequest/draft-1",
        "resourceId": "MedicationRequest/draft-1",
    }
    # The replacement is the first alternative the EHR can order as a medication (steroids,
    # ranked first here, carry no medication code in the catalog), and it is named in the detail.
    create = actions[1]
    assert create["type"] == "create"
    assert create["resource"]["medicationCodeableConcept"]["coding"]
    assert create["resource"]["medicationCodeableConcept"]["text"] in card["detail"]


def test_a_draft_without_id_still_gets_its_card(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = hook("order-sign", prefetch=_synthea_prefetch(templates["tada-ig-order-sign"]))
    body["context"]["draftOrders"] = _bundle(
        ("urn:uuid:5e3f2a10-0000-4000-8000-000000000001", _draft(id=None))
    )
    cards = client.post(ORDER_SIGN, json=body).json()["cards"]
    assert len(cards) == 1
    actions = cards[0]["suggestions"][0]["actions"]
    assert [a["type"] for a in actions] == ["create"]
    assert "remove it yourself" in actions[0]["description"]


def test_a_draft_failing_validation_on_unused_elements_is_read_leniently(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    """No intent, a malformed dosage and an element R4 does not know: what TADA needs is
    there, so the order is checked and the card says what was set aside."""
    draft = _draft(
        intent=None,
        dosageInstruction=[{"timing": {"repeat": {"frequency": "often"}}}],
        vendorExtension={"x": 1},
    )
    body = hook("order-select", prefetch=_synthea_prefetch(templates["tada-ig-order-select"]))
    body["context"]["draftOrders"] = _bundle((None, draft))
    body["context"]["selections"] = ["MedicationRequest/draft-1"]
    cards = client.post(ORDER_SELECT, json=body).json()["cards"]
    assert len(cards) == 1
    detail = cards[0]["detail"]
    assert "Set aside" in detail
    assert "MedicationRequest/draft-1.dosageInstruction" in detail
    assert "MedicationRequest/draft-1.vendorExtension" in detail
    created = cards[0]["suggestions"][0]["actions"][1]["resource"]
    assert created["intent"] == "order"  # a missing intent is never the string "None"


def test_a_draft_whose_medication_is_invalid_is_set_aside(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    draft = _draft(medicationCodeableConcept={"coding": "not a list"})
    body = hook("order-sign", prefetch=_synthea_prefetch(templates["tada-ig-order-sign"]))
    body["context"]["draftOrders"] = _bundle((None, draft))
    response = client.post(ORDER_SIGN, json=body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


# --------------------------------------------------------------------------------------------
# CORS on every error answer
# --------------------------------------------------------------------------------------------


def test_cors_headers_on_412_and_422(client: TestClient) -> None:
    headers = {"Origin": ORIGIN}
    precondition = client.post(PATIENT_VIEW, json=hook("patient-view"), headers=headers)
    assert precondition.status_code == 412
    invalid = client.post("/v1/fhir/score", json={"bundle": {"x": 1}}, headers=headers)
    assert invalid.status_code == 422
    for response in (precondition, invalid):
        assert response.headers["access-control-allow-origin"] in {"*", ORIGIN}


def test_cors_headers_on_401(database_url: str) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0,
        warm_up=False,
        cds_trusted_issuers={"https://ehr.example.org": "http://127.0.0.1:9/jwks"},
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as secure:
        response = secure.post(PATIENT_VIEW, json=hook("patient-view"), headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] in {"*", ORIGIN}


def test_prefetch_searchset_bundle_is_not_mutated(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    prefetch = _synthea_prefetch(templates["tada-patient-view"])
    before = copy.deepcopy(prefetch)
    assert (
        client.post(PATIENT_VIEW, json=hook("patient-view", prefetch=prefetch)).status_code == 200
    )
    assert prefetch == before


def test_treatment_history_reaches_the_engine_as_given_response_unknown() -> None:
    from api.fhir.derived import DerivedCase, DerivedPriorTreatment
    from scoring.model import PriorTreatment

    def given(therapy: str, *, ongoing: bool = False, reasons: list[str] | None = None) -> Any:
        return DerivedPriorTreatment(
            therapy_id=therapy,
            ongoing=ongoing,
            coding="x|y",
            source="MedicationAdministration/a",
            reason_condition_ids=reasons or [],
        )

    case = DerivedCase(
        as_of=date(2026, 11, 30),
        condition_id="cidp",
        prior_treatments=[
            given("ivig"),
            given("ivig", ongoing=True),
            given("rituximab", reasons=["itp"]),  # given for another condition
            given("plasma-exchange", reasons=["cidp"]),
        ],
    )
    assert case.patient_fields()["prior_treatments"] == [
        {"therapy_id": "ivig", "ongoing": True},
        {"therapy_id": "plasma-exchange"},
    ]
    assert case.patient_case().prior_treatments == (
        PriorTreatment("ivig", None, True),
        PriorTreatment("plasma-exchange", None, False),
    )
    assert case.patient_fields("itp")["prior_treatments"] == [
        {"therapy_id": "ivig", "ongoing": True},
        {"therapy_id": "rituximab"},
    ]


def test_no_treatment_record_is_unknown_history_never_none_given() -> None:
    from api.fhir.derived import DerivedCase

    case = DerivedCase(as_of=date(2026, 11, 30), condition_id="cidp")
    assert "prior_treatments" not in case.patient_fields()
    assert case.patient_case().prior_treatments is None


def test_patient_view_reads_treatment_history_from_the_fhir_server(client: TestClient) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-05-05"}
    history = [
        patient,
        _condition("G61.81", "Patient/p1", id="c1"),
        {
            "resourceType": "Procedure",
            "id": "pe1",
            "status": "completed",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "36514"}]},
            "subject": {"reference": "Patient/p1"},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "rtx-old",
            "status": "stopped",
            "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "121191"}]},
            "subject": {"reference": "Patient/p1"},
        },
    ]
    with PagingFhirServer(history) as server:
        body = hook("patient-view", **authorization(server))
        body["context"]["patientId"] = "p1"
        body["fhirAuthorization"]["patient"] = "p1"
        response = client.post(PATIENT_VIEW, json=body)
        paths = [p for p, _ in server.requests]
    assert response.status_code == 200, response.text
    detail = response.json()["cards"][0]["detail"]
    assert "given before (response not recorded): plasma-exchange, rituximab" in detail
    assert any(p.startswith("/fhir/Procedure?") for p in paths)
    assert any(p.startswith("/fhir/MedicationAdministration?") for p in paths)


def test_the_documented_ivig_order_sign_example_gives_a_warning_card(client: TestClient) -> None:
    """docs/ehr-integration.md walks through this request: an IVIG draft (NDC-coded, as the
    product's label lists it) for a CIDP patient with heart failure gives a card."""
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "order-sign-ivig.json"
    response = client.post(
        ORDER_SIGN, content=example.read_bytes(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert card["indicator"] == "warning"
    assert "heart failure" in card["detail"].lower()
    assert "**Not suitable for this patient**\n\n\n" not in card["detail"]
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/draft-ivig"
