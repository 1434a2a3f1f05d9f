"""CDS Hooks service calls as an EHR makes them: prefetch, no prefetch (a local FHIR server),
412, cards that carry every required field and nothing null, feedback."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from support.problems import assert_problem

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"
PATIENT_VIEW = "/cds-services/tada-patient-view"
ORDER_SELECT = "/cds-services/tada-ig-order-select"
ORDER_SIGN = "/cds-services/tada-ig-order-sign"
ACTIVE = {"active", "recurrence", "relapse"}


def resources(name: str) -> list[dict[str, Any]]:
    bundle = json.loads((FIXTURES / f"{name}.json").read_text())
    return [e["resource"] for e in bundle["entry"]]


def searchset(found: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [
            {"fullUrl": f"http://ehr.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in found
        ],
    }


def _date(resource: dict[str, Any]) -> str:
    return str(resource.get("effectiveDateTime", ""))


def search(store: list[dict[str, Any]], kind: str, params: dict[str, str]) -> dict[str, Any]:
    """A tiny FHIR search: patient, code (system|code,...), clinical-status, status, _count."""
    found = [r for r in store if r["resourceType"] == kind]
    if "code" in params:
        wanted = set(params["code"].split(","))
        found = [
            r
            for r in found
            if any(f"{c['system']}|{c['code']}" in wanted for c in r["code"]["coding"])
        ]
    if "clinical-status" in params:
        states = set(params["clinical-status"].split(","))
        found = [
            r
            for r in found
            if any(c["code"] in states for c in r.get("clinicalStatus", {}).get("coding", []))
        ]
    if kind == "MedicationRequest" and "status" in params:
        found = [r for r in found if r["status"] == params["status"]]
    if params.get("_sort") == "-date":
        found.sort(key=_date, reverse=True)
    if "_count" in params:
        found = found[: int(params["_count"])]
    return searchset(found)


def prefetch_for(store: list[dict[str, Any]], templates: dict[str, str], pid: str) -> Any:
    """What a conformant EHR would send: each template run against its own data."""
    out: dict[str, Any] = {}
    for key, template in templates.items():
        path = template.replace("{{context.patientId}}", pid)
        kind, _, query = path.partition("?")
        if not query:
            rid = kind.split("/")[1]
            out[key] = next((r for r in store if r["id"] == rid), None)
            continue
        params = {k: v[0] for k, v in parse_qs(query).items()}
        out[key] = search(store, kind, params)
    return out


class FhirServer:
    """A FHIR server on 127.0.0.1 (ephemeral port) serving the fixture bundles."""

    def __init__(self, store: list[dict[str, Any]]) -> None:
        self.store = store
        self.requests: list[tuple[str, str | None]] = []
        self.link: Any = None  # when set, every searchset carries this `link` (odd servers)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Authorization")))
                parts = urlsplit(self.path)
                path = parts.path.removeprefix("/fhir/")
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if "/" in path:
                    kind, rid = path.split("/", 1)
                    found = next(
                        (r for r in server.store if r["resourceType"] == kind and r["id"] == rid),
                        None,
                    )
                    body, status = (found, 200) if found else ({"resourceType": "x"}, 404)
                else:
                    body, status = search(server.store, path, params), 200
                    if server.link is not None:
                        body["link"] = server.link
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FhirServer:
        self.thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


STORE = [
    *resources("cidp-ivig-falling-egfr"),
    *resources("mmn-ivig-order"),
    *resources("adult-itp-bleeding"),
    *resources("child-primary-immunodeficiency"),
]


@pytest.fixture(scope="module")
def fhir_server() -> Iterator[FhirServer]:
    with FhirServer(STORE) as server:
        yield server


@pytest.fixture
def templates(client: TestClient) -> dict[str, dict[str, str]]:
    services = client.get("/cds-services").json()["services"]
    return {s["id"]: s["prefetch"] for s in services}


def hook_body(hook: str, pid: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-lee", "patientId": pid},
    }
    body.update(extra)
    return body


def patient_view(pid: str, templates: dict[str, dict[str, str]]) -> dict[str, Any]:
    return hook_body(
        "patient-view", pid, prefetch=prefetch_for(STORE, templates["tada-patient-view"], pid)
    )


def draft_order_body(
    hook: str, templates: dict[str, dict[str, str]], service: str, **context: Any
) -> dict[str, Any]:
    drafts = json.loads((FIXTURES / "mmn-draft-orders.json").read_text())
    body = hook_body(hook, "mmn-1", prefetch=prefetch_for(STORE, templates[service], "mmn-1"))
    body["context"]["draftOrders"] = drafts
    body["context"].update(context)
    return body


# --------------------------------------------------------------------------------------------
# The card walker: every required field, nothing null or empty (CDS Hooks 2.0.1 §Card)
# --------------------------------------------------------------------------------------------

CARD_FIELDS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
}


def assert_no_null_or_empty(value: Any, path: str) -> None:
    assert value is not None, f"{path} is null"
    if isinstance(value, str | list | dict):
        assert len(value) > 0, f"{path} is empty"
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_null_or_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_null_or_empty(item, f"{path}[{index}]")


def assert_valid_cards(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert set(body) <= {"cards", "systemActions"}
    cards: list[dict[str, Any]] = body["cards"]
    assert isinstance(cards, list)
    for i, card in enumerate(cards):
        where = f"cards[{i}]"
        assert_no_null_or_empty(card, where)
        assert set(card) <= CARD_FIELDS, f"{where}: unknown fields {set(card) - CARD_FIELDS}"
        assert uuid.UUID(card["uuid"])
        assert isinstance(card["summary"], str)
        assert len(card["summary"]) < 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"]
        assert set(card["source"]) <= {"label", "url", "icon", "topic"}
        if "topic" in card["source"]:
            assert {"system", "code"} <= set(card["source"]["topic"])
        if "suggestions" in card:
            assert card["selectionBehavior"] in {"at-most-one", "any"}
            if card["selectionBehavior"] == "at-most-one":
                assert sum(1 for s in card["suggestions"] if s.get("isRecommended")) <= 1
            for suggestion in card["suggestions"]:
                assert suggestion["label"]
                for action in suggestion.get("actions", []):
                    assert action["type"] in {"create", "update", "delete"}
                    assert action["description"]
                    if action["type"] == "delete":
                        assert "resourceId" in action
                        assert "resource" not in action
                    else:
                        assert action["resource"]["resourceType"]
        else:
            assert "selectionBehavior" not in card
        for reason in card.get("overrideReasons", []):
            assert {"code", "system", "display"} <= set(reason)
        for link in card.get("links", []):
            assert {"label", "url", "type"} <= set(link)
            assert link["type"] in {"absolute", "smart"}
            if link["type"] != "smart":
                assert "appContext" not in link
            assert "autoLaunchable" not in link
    return cards


# --------------------------------------------------------------------------------------------
# patient-view
# --------------------------------------------------------------------------------------------


def test_patient_view_with_prefetch_cidp_on_ivig(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    response = client.post(PATIENT_VIEW, json=patient_view("cidp-1", templates))
    assert response.status_code == 200, response.text
    cards = assert_valid_cards(response.json())
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] in {"warning", "critical"}  # the current IVIG vs eGFR 24
    assert "immunoglobulin" in card["summary"].lower()
    assert "eGFR 24" in card["detail"]
    assert "overrideReasons" in card
    assert card["links"][0]["type"] == "absolute"


@pytest.mark.parametrize(
    ("pid", "condition"),
    [("child-primary-immunodeficiency", "pi"), ("adult-itp-bleeding", "itp")],
)
def test_patient_view_other_scenarios(
    client: TestClient, templates: dict[str, dict[str, str]], pid: str, condition: str
) -> None:
    patient_id = resources(pid)[0]["id"]
    response = client.post(PATIENT_VIEW, json=patient_view(patient_id, templates))
    assert response.status_code == 200, response.text
    cards = assert_valid_cards(response.json())
    assert len(cards) == 1
    assert cards[0]["source"]["topic"]["code"] == condition


def fetching_hook_body(fhir_server: FhirServer) -> dict[str, Any]:
    """A patient-view call with no prefetch: everything comes from the FHIR server."""
    return hook_body(
        "patient-view",
        "cidp-1",
        fhirServer=fhir_server.url,
        fhirAuthorization={
            "access_token": "secret-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Patient.read patient/Observation.read",
            "subject": "tada",
            "patient": "cidp-1",
        },
    )


def test_no_prefetch_fetches_from_the_fhir_server_with_the_bearer_token(
    client: TestClient, fhir_server: FhirServer, templates: dict[str, dict[str, str]]
) -> None:
    fhir_server.requests.clear()
    body = fetching_hook_body(fhir_server)
    response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 200, response.text
    fetched = assert_valid_cards(response.json())
    paths = [p for p, _ in fhir_server.requests]
    assert "/fhir/Patient/cidp-1" in paths
    assert all(auth == "Bearer secret-token" for _, auth in fhir_server.requests)
    prefetched = client.post(PATIENT_VIEW, json=patient_view("cidp-1", templates)).json()
    assert [c["summary"] for c in fetched] == [c["summary"] for c in prefetched["cards"]]


@pytest.mark.parametrize("link", [["x"], "abc", 5, [{"relation": "next", "url": 7}]])
def test_a_searchset_with_a_malformed_link_is_read_without_paging(
    client: TestClient, fhir_server: FhirServer, link: Any
) -> None:
    """Was a 500: `link` entries were used before checking they are objects."""
    body = fetching_hook_body(fhir_server)
    fhir_server.link = link
    try:
        response = client.post(PATIENT_VIEW, json=body)
    finally:
        fhir_server.link = None
    assert response.status_code == 200, response.text
    assert_valid_cards(response.json())


def test_partial_prefetch_fetches_only_the_missing_keys(
    client: TestClient, fhir_server: FhirServer, templates: dict[str, dict[str, str]]
) -> None:
    """A missing key is fetched; a key sent as an OperationOutcome is the client's answer
    ("don't ask again") and is not fetched."""
    fhir_server.requests.clear()
    body = patient_view("cidp-1", templates)
    del body["prefetch"]["conditions"]
    body["prefetch"]["egfr"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    body["fhirServer"] = fhir_server.url
    response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 200
    assert len(assert_valid_cards(response.json())) == 1
    fetched = sorted(urlsplit(p).path for p, _ in fhir_server.requests)
    assert fetched == ["/fhir/Condition"]
    assert "egfr" in response.json()["cards"][0]["detail"].split("Not known")[1]


def test_no_prefetch_and_no_fhir_server_is_412_naming_the_keys(client: TestClient) -> None:
    response = client.post(PATIENT_VIEW, json=hook_body("patient-view", "cidp-1"))
    assert response.status_code == 412
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["severity"] == "error"
    assert issue["code"] == "processing"
    assert "conditions" in issue["diagnostics"]
    assert "patient" in issue["diagnostics"]
    assert set(issue["expression"]) == {"conditions", "patient"}


def test_prefetch_error_for_a_required_key_is_412_without_refetching(
    client: TestClient, templates: dict[str, dict[str, str]], fhir_server: FhirServer
) -> None:
    fhir_server.requests.clear()
    body = patient_view("cidp-1", templates)
    body["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
    body["fhirServer"] = fhir_server.url
    response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 412
    assert response.json()["issue"][0]["expression"] == ["conditions"]
    assert fhir_server.requests == []


def test_missing_required_key_and_unreachable_fhir_server_is_412(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = patient_view("cidp-1", templates)
    del body["prefetch"]["conditions"]
    body["fhirServer"] = "http://127.0.0.1:9/fhir"  # discard port: nothing listens
    response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 412
    assert response.json()["issue"][0]["expression"] == ["conditions"]


def test_no_catalog_condition_gives_no_cards(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = patient_view("cidp-1", templates)
    body["prefetch"]["conditions"] = searchset([])
    response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_null_patient_prefetch_means_no_data_not_an_error(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = patient_view("cidp-1", templates)
    body["prefetch"]["patient"] = None
    response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 200
    card = assert_valid_cards(response.json())[0]
    assert "age_years" in card["detail"]  # listed as not known


def test_a_non_conformant_prefetch_resource_does_not_fail_the_hook(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = patient_view("cidp-1", templates)
    body["prefetch"]["conditions"]["entry"].append(
        {"resource": {"resourceType": "Condition", "id": "odd", "onsetBanana": 1}}
    )
    response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 200
    assert len(assert_valid_cards(response.json())) == 1


# --------------------------------------------------------------------------------------------
# order-select / order-sign
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "hook", "service"),
    [
        (ORDER_SELECT, "order-select", "tada-ig-order-select"),
        (ORDER_SIGN, "order-sign", "tada-ig-order-sign"),
    ],
)
def test_mmn_ivig_draft_order(
    client: TestClient,
    templates: dict[str, dict[str, str]],
    path: str,
    hook: str,
    service: str,
) -> None:
    context = {"selections": ["MedicationRequest/draft-ivig"]} if hook == "order-select" else {}
    response = client.post(path, json=draft_order_body(hook, templates, service, **context))
    assert response.status_code == 200, response.text
    cards = assert_valid_cards(response.json())
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] in {"warning", "critical"}  # heart failure with IVIG
    assert "immunoglobulin" in card["summary"].lower()
    for suggestion in card.get("suggestions", []):
        kinds = [a["type"] for a in suggestion["actions"]]
        assert kinds == ["delete", "create"]
        assert suggestion["actions"][0]["resourceId"] == "MedicationRequest/draft-ivig"
        assert suggestion["actions"][1]["resource"]["resourceType"] == "MedicationRequest"


def test_order_select_for_an_unselected_draft_gives_no_cards(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = draft_order_body(
        "order-select",
        templates,
        "tada-ig-order-select",
        selections=["MedicationRequest/something-else"],
    )
    response = client.post(ORDER_SELECT, json=body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_order_for_a_therapy_outside_the_catalog_gives_no_cards(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = draft_order_body("order-sign", templates, "tada-ig-order-sign")
    medication = body["context"]["draftOrders"]["entry"][0]["resource"]
    medication["medicationCodeableConcept"] = {"text": "paracetamol 500 mg"}
    response = client.post(ORDER_SIGN, json=body)
    assert response.json() == {"cards": []}


# --------------------------------------------------------------------------------------------
# Bad requests: never a 500
# --------------------------------------------------------------------------------------------


def test_unknown_service_is_404(client: TestClient) -> None:
    response = client.post("/cds-services/nope", json=hook_body("patient-view", "p"))
    assert_problem(response, 404, "nope")


def test_wrong_hook_for_the_service_is_400(
    client: TestClient, templates: dict[str, dict[str, str]]
) -> None:
    body = patient_view("cidp-1", templates)
    body["hook"] = "order-sign"
    assert_problem(client.post(PATIENT_VIEW, json=body), 400, "patient-view")


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        PATIENT_VIEW,
        content=b'{"hook": "patient-view",',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400)


def test_fhir_authorization_without_fhir_server_is_refused(client: TestClient) -> None:
    body = hook_body(
        "patient-view",
        "cidp-1",
        fhirAuthorization={
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "tada",
        },
    )
    response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 422
    assert "t" not in json.dumps(response.json().get("errors", [{}])[0].get("input", ""))


NOT_AN_ID = "context.patientId must be a FHIR resource id."


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({}, 422, "body/hook: Field required"),
        ([], 422, "body: Input should be a valid dictionary"),
        ({"hook": "patient-view"}, 422, "body/hookInstance: Field required"),
        (
            {"hook": "patient-view", "hookInstance": "x", "context": []},
            422,
            "body/context: Input should be a valid dictionary",
        ),
        ({"hook": "patient-view", "hookInstance": "x", "context": {}}, 400, NOT_AN_ID),
        (
            {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "../../etc"}},
            400,
            NOT_AN_ID,
        ),
        (
            {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": 7}},
            400,
            NOT_AN_ID,
        ),
        (
            {
                "hook": "patient-view",
                "hookInstance": "x",
                "context": {"patientId": "p"},
                "prefetch": 3,
            },
            422,
            "body/prefetch: Input should be a valid dictionary",
        ),
        # Prefetch entries of the wrong shape are not read: an answer with no card, not an error.
        (
            {
                "hook": "patient-view",
                "hookInstance": "x",
                "context": {"patientId": "p"},
                "prefetch": {"patient": [], "conditions": "Condition", "egfr": {"resourceType": 1}},
            },
            200,
            None,
        ),
        (
            {
                "hook": "patient-view",
                "hookInstance": "x",
                "context": {"patientId": "p"},
                "prefetch": {"patient": None, "conditions": {"resourceType": "Bundle", "entry": 5}},
            },
            200,
            None,
        ),
        (
            {
                "hook": "patient-view",
                "hookInstance": "x",
                "context": {"patientId": "p"},
                "fhirServer": "ftp://example.org",
            },
            400,
            "fhirServer must be an https URL",
        ),
    ],
)
def test_odd_bodies_never_500(
    client: TestClient, body: Any, status: int, detail: str | None
) -> None:
    response = client.post(PATIENT_VIEW, json=body)
    if detail is None:
        assert response.status_code == status, response.text
        assert response.json() == {"cards": []}
    else:
        assert_problem(response, status, detail)


@pytest.mark.parametrize(
    "drafts",
    [None, {"resourceType": "Bundle"}, {"resourceType": "Patient"}, [1, 2], {"entry": [{}]}],
)
def test_odd_draft_orders_never_500(
    client: TestClient, templates: dict[str, dict[str, str]], drafts: Any
) -> None:
    body = draft_order_body("order-sign", templates, "tada-ig-order-sign")
    body["context"]["draftOrders"] = drafts
    response = client.post(ORDER_SIGN, json=body)
    problem = assert_problem(response, 400, "context.draftOrders must be a FHIR Bundle")
    assert problem["title"] == "Bad CDS Hooks request"
    assert problem["type"].endswith("/bad-cds-request")


# --------------------------------------------------------------------------------------------
# Feedback
# --------------------------------------------------------------------------------------------


def feedback(card: str, **item: Any) -> dict[str, Any]:
    entry = {"card": card, "outcomeTimestamp": "2026-11-24T10:05:31Z", **item}
    return {"feedback": [entry]}


def test_feedback_is_stored_idempotently_and_readable_by_curators(
    client: TestClient, curator_key: str
) -> None:
    card = str(uuid.uuid4())
    accepted = feedback(card, outcome="accepted", acceptedSuggestions=[{"id": "s-1"}])
    overridden = feedback(
        card,
        outcome="overridden",
        overrideReason={
            "reason": {
                "system": "https://tada.example/cds/override-reason",
                "code": "discussed-with-patient",
                "display": "Discussed with patient",
            },
            "userComment": "patient prefers home",
        },
    )
    for body in (accepted, overridden, accepted):  # the same card may come back
        response = client.post(f"{PATIENT_VIEW}/feedback", json=body)
        assert response.status_code == 200
        assert response.content == b""
    listed = client.get(f"{PATIENT_VIEW}/feedback", headers={"X-API-Key": curator_key})
    assert listed.status_code == 200
    data = listed.json()
    assert data["total"] == 2
    outcomes = {item["outcome"]: item for item in data["items"]}
    assert outcomes["accepted"]["accepted_suggestions"] == [{"id": "s-1"}]
    assert outcomes["overridden"]["override_reason_code"] == "discussed-with-patient"
    assert datetime.fromisoformat(outcomes["accepted"]["outcome_timestamp"]).year == 2026


def test_feedback_list_needs_a_curator(client: TestClient) -> None:
    assert_problem(client.get(f"{PATIENT_VIEW}/feedback"), 401, "X-API-Key")


@pytest.mark.parametrize(
    "item",
    [
        {"outcome": "accepted"},  # cds-fb-2
        {"outcome": "ignored"},  # cds-fb-1
        {"outcome": "overridden", "overrideReason": {}},  # cds-fb-3
        {"outcome": "overridden", "outcomeTimestamp": "yesterday"},
    ],
)
def test_invalid_feedback_is_422(client: TestClient, item: dict[str, Any]) -> None:
    response = client.post(f"{PATIENT_VIEW}/feedback", json=feedback("c", **item))
    assert assert_problem(response, 422)["errors"]


def test_feedback_for_an_unknown_service_is_404(client: TestClient) -> None:
    body = feedback("c", outcome="overridden")
    response = client.post("/cds-services/nope/feedback", json=body)
    problem = assert_problem(response, 404, "nope")
    assert problem["type"].endswith("/not-found")
