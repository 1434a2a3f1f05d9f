"""Every curator write path, one cycle per entity through HTTP.

Create, read it back, PATCH with `If-Match`, a stale `If-Match` (412, nothing changed), the audit
entries, DELETE and the record gone. Together these make each of the
21 curator write paths succeed at least once, and check the body of every answer, not only its
status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

SOURCE = "article-ivig-2024"


def _in_therapy(key: str) -> Callable[[TestClient, str], dict[str, Any] | None]:
    """Read a therapy's child record (cost, availability, risk rule) from the therapy."""

    def read(client: TestClient, record_id: str) -> dict[str, Any] | None:
        therapy = client.get("/v1/therapies/ivig").json()
        return next((r for r in therapy[key] if str(r["id"]) == record_id), None)

    return read


def _item(path: str) -> Callable[[TestClient, str], dict[str, Any] | None]:
    def read(client: TestClient, record_id: str) -> dict[str, Any] | None:
        response = client.get(f"{path}/{record_id}")
        if response.status_code == 404:
            assert response.headers["content-type"] == "application/problem+json"
            return None
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == f'"{response.json()["revision"]}"'
        return dict(response.json())

    return read


def _read_source(client: TestClient, record_id: str) -> dict[str, Any] | None:
    items = client.get("/v1/sources").json()["items"]
    return next((s for s in items if s["id"] == record_id), None)


@dataclass(frozen=True)
class Entity:
    name: str  # the audit log's entity name
    create_path: str
    item_path: str  # PATCH / DELETE: item_path/{id}
    body: dict[str, Any]
    change: dict[str, Any]
    read: Callable[[TestClient, str], dict[str, Any] | None]


ENTITIES = [
    Entity(
        "source",
        "/v1/sources",
        "/v1/sources",
        {"id": "cycle-source", "citation": "A source for the cycle", "year": 2026, "kind": "trial"},
        {"citation": "A source for the cycle, corrected", "verified": False},
        _read_source,
    ),
    Entity(
        "condition",
        "/v1/conditions",
        "/v1/conditions",
        {
            "id": "cycle-condition",
            "name": "Cycle condition",
            "source": SOURCE,
            "codes": [{"system": "urn:tada:test", "code": "CYC1"}],
        },
        {
            "name": "Cycle condition, renamed",
            "codes": [{"system": "urn:tada:test", "code": "CYC2"}],
        },
        _item("/v1/conditions"),
    ),
    Entity(
        "therapy",
        "/v1/therapies",
        "/v1/therapies",
        {
            "id": "cycle-therapy",
            "name": "Cycle therapy",
            "modality": "immunoglobulin",
            "route": "intravenous",
            "summary": "A therapy made by the tests.",
            "source": SOURCE,
            "care_settings": ["hospital"],
            "administration": {"hours_per_session": 2, "sessions_per_month": 1, "source": SOURCE},
            "onset_days": 14,
        },
        {"onset_days": 21, "summary": "A therapy changed by the tests."},
        _item("/v1/therapies"),
    ),
    Entity(
        "indication",
        "/v1/indications",
        "/v1/indications",
        {
            "therapy": "hsct",
            "condition": "pi",
            "status": "investigational",
            "certainty": "very_low",
            "place": {"requires": "none"},
            "source": SOURCE,
        },
        {"certainty": "low", "note": "Checked by the tests."},
        _item("/v1/indications"),
    ),
    Entity(
        "cost",
        "/v1/therapies/ivig/costs",
        "/v1/costs",
        {
            "amount": 1234.5,
            "currency": "EUR",
            "basis": "per_session",
            "region": "DE",
            "year": 2025,
            "source": SOURCE,
        },
        {"amount": 1300.0, "note": "Re-priced."},
        _in_therapy("costs"),
    ),
    Entity(
        "availability",
        "/v1/therapies/ivig/availability",
        "/v1/availability",
        {"region": "DE", "status": "available", "as_of": "2026-01", "source": SOURCE},
        {"status": "shortage", "lead_time_days": 30},
        _in_therapy("availability"),
    ),
    Entity(
        "risk_rule",
        "/v1/therapies/ivig/risk-rules",
        "/v1/risk-rules",
        {
            "id": "cycle-rule",
            "code": "cycle_low_weight",
            "attribute": "weight_kg",
            "operator": "lt",
            "value": 5,
            "severity": "relative",
            "safety_penalty": 0.1,
            "message": "A very low body weight needs a careful dose.",
            "source": SOURCE,
        },
        {"message": "A very low body weight needs a careful, weighed dose.", "value": 6},
        _in_therapy("risk_rules"),
    ),
]


def _contains(record: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if key == "codes":
            assert [(c["system"], c["code"]) for c in record["codes"]] == [
                (c["system"], c["code"]) for c in value
            ]
        elif key == "administration":
            assert record["administration"]["source"] == value["source"]
        elif key == "place":
            assert (record["place"] or {}).get("requires", "none") == value["requires"]
        elif key in ("therapy", "condition") and f"{key}_id" in record:
            assert record[f"{key}_id"] == value
        elif key == "source" and "source_id" in record:
            assert record["source_id"] == value
        else:
            assert record[key] == value, key


@pytest.mark.parametrize("entity", ENTITIES, ids=[e.name for e in ENTITIES])
def test_a_curator_cycle(client: TestClient, curator_key: str, entity: Entity) -> None:
    headers = {"X-API-Key": curator_key}
    version = client.get("/v1/catalog/version").json()["catalog_version"]

    # Create: 201, the record as stored.
    created = client.post(entity.create_path, json=entity.body, headers=headers)
    assert created.status_code == 201, created.text
    record = created.json()
    record_id = str(record["id"])
    _contains(record, entity.body)
    assert record["revision"] == 1

    # Read it back.
    read = entity.read(client, record_id)
    assert read is not None
    _contains(read, entity.body)

    # PATCH with the revision read: 200, the change, a new ETag and revision.
    path = f"{entity.item_path}/{record_id}"
    changed = client.patch(path, json=entity.change, headers={**headers, "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["revision"] == 2
    assert changed.headers["etag"] == '"2"'
    _contains(changed.json(), entity.change)
    read = entity.read(client, record_id)
    assert read is not None
    _contains(read, entity.change)

    # A stale If-Match: 412 with the current revision; nothing changes.
    stale = client.patch(path, json=entity.change, headers={**headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["current_revision"] == 2
    assert "reload" in stale.json()["detail"]
    read = entity.read(client, record_id)
    assert read is not None
    _contains(read, entity.change)

    # The audit log holds both writes, each at its own catalog version, before and after.
    audit = client.get(
        f"/v1/audit?entity={entity.name}&entity_id={record_id}", headers=headers
    ).json()["items"]
    by_action = {entry["action"]: entry for entry in audit}
    assert set(by_action) == {"create", "update"}
    assert by_action["create"]["before"] is None
    assert by_action["create"]["catalog_version"] == version + 1
    assert by_action["update"]["catalog_version"] == version + 2
    assert by_action["update"]["before"] is not None
    assert by_action["update"]["after"] is not None
    assert by_action["update"]["before"] != by_action["update"]["after"]
    assert client.get("/v1/catalog/version").json()["catalog_version"] == version + 2

    # DELETE with a stale If-Match is refused; with the current one it removes the record.
    refused = client.delete(path, headers={**headers, "If-Match": '"1"'})
    assert refused.status_code == 412
    assert refused.json()["current_revision"] == 2
    deleted = client.delete(path, headers={**headers, "If-Match": '"2"'})
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert entity.read(client, record_id) is None
    again = client.delete(path, headers={**headers, "If-Match": '"2"'})
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    audit = client.get(
        f"/v1/audit?entity={entity.name}&entity_id={record_id}", headers=headers
    ).json()["items"]
    deletion = next(entry for entry in audit if entry["action"] == "delete")
    assert deletion["after"] is None
    assert deletion["before"] is not None
    assert deletion["catalog_version"] == version + 3
