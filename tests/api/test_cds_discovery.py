"""CDS Hooks 2.0.1 discovery: required fields, prefetch templates from catalog codes."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

REQUIRED_SERVICE_FIELDS = ("hook", "description", "id")
ALLOWED_SERVICE_FIELDS = {"hook", "title", "description", "id", "prefetch", "usageRequirements"}
TOKEN = re.compile(r"\{\{([^}]*)\}\}")


def assert_no_null_or_empty(value: Any, path: str = "$") -> None:
    """CDS Hooks: elements SHALL NOT be null or empty ("", [], {})."""
    assert value is not None, f"{path} is null"
    if isinstance(value, str | list | dict):
        assert len(value) > 0, f"{path} is empty"
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_null_or_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_null_or_empty(item, f"{path}[{index}]")


def test_discovery_lists_patient_view_and_order_services(client: TestClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    services = response.json()["services"]
    hooks = {s["hook"] for s in services}
    assert "patient-view" in hooks
    assert hooks & {"order-select", "order-sign"}
    for service in services:
        for field in REQUIRED_SERVICE_FIELDS:
            assert isinstance(service[field], str)
            assert service[field]
        assert set(service) <= ALLOWED_SERVICE_FIELDS
        assert "name" not in service  # pre-1.0 field
        assert_no_null_or_empty(service)
    assert len({s["id"] for s in services}) == len(services)


def test_prefetch_templates_use_only_allowed_tokens_and_catalog_codes(client: TestClient) -> None:
    services = client.get("/cds-services").json()["services"]
    patient_view = next(s for s in services if s["hook"] == "patient-view")
    prefetch = patient_view["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert prefetch["conditions"].startswith("Condition?patient={{context.patientId}}")
    assert "http://loinc.org|98979-8" in prefetch["egfr"]  # from the catalog, not the code
    assert "_sort=-date" in prefetch["egfr"]
    for service in services:
        for template in service["prefetch"].values():
            assert not template.startswith("/")  # relative FHIR URLs
            assert "sort:desc" not in template
            for token in TOKEN.findall(template):
                assert token == "context.patientId"


def test_get_on_a_service_url_is_404(client: TestClient) -> None:
    response = client.get("/cds-services/tada-patient-view")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_cors_preflight_for_sandbox(client: TestClient) -> None:
    response = client.options(
        "/cds-services/tada-patient-view",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed


def test_code_lists_load_from_the_database(database_url: str) -> None:
    from db.fhir_codes import load_code_rows
    from db.session import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = load_code_rows(session)
    finally:
        engine.dispose()
    assert rows.version >= 1
    assert ("cidp", "G61.81") in {(r.target, r.code) for r in rows.conditions}
    assert "egfr" in {o.attribute for o in rows.observations}
    assert any(r.target == "ivig" for r in rows.therapies)
