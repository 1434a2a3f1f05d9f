"""Curator writes: keys and roles, versioning and audit, optimistic concurrency, atomicity."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.problems import assert_problem

NEW_SOURCE: dict[str, Any] = {
    "id": "test-cost-study-2026",
    "citation": "A cost study used by the tests",
    "year": 2026,
    "kind": "cost_study",
}


def version(client: TestClient) -> int:
    return int(client.get("/v1/catalog/version").json()["catalog_version"])


def test_a_write_without_a_key_is_refused(client: TestClient) -> None:
    response = client.post("/v1/sources", json=NEW_SOURCE)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-API-Key" in response.json()["detail"]


def test_a_write_with_a_bad_key_is_refused(client: TestClient) -> None:
    response = client.post("/v1/sources", json=NEW_SOURCE, headers={"X-API-Key": "tada_nope_nope"})
    assert_problem(response, 401)
    assert NEW_SOURCE["id"] not in {s["id"] for s in client.get("/v1/sources").json()["items"]}


def test_a_reader_key_cannot_write(client: TestClient, reader_key: str) -> None:
    before = version(client)
    response = client.post("/v1/sources", json=NEW_SOURCE, headers={"X-API-Key": reader_key})
    assert response.status_code == 403
    assert "curator" in response.json()["detail"]
    assert version(client) == before


def test_a_curator_write_bumps_the_version_and_is_audited(
    client: TestClient, curator_key: str
) -> None:
    headers = {"X-API-Key": curator_key}
    before = version(client)
    response = client.post("/v1/sources", json=NEW_SOURCE, headers=headers)
    assert response.status_code == 201, response.text
    assert version(client) == before + 1
    audit = client.get("/v1/audit?entity=source", headers=headers).json()["items"]
    entry = audit[0]
    assert entry["entity_id"] == NEW_SOURCE["id"]
    assert entry["action"] == "create"
    assert entry["catalog_version"] == before + 1
    assert entry["actor"] == "curator:test-curator"
    assert entry["before"] is None
    assert entry["after"]["citation"] == NEW_SOURCE["citation"]


def test_the_audit_log_needs_a_curator(client: TestClient, reader_key: str) -> None:
    assert_problem(client.get("/v1/audit"), 401, "X-API-Key")
    assert_problem(client.get("/v1/audit", headers={"X-API-Key": reader_key}), 403, "curator")


def _etag(client: TestClient, path: str) -> str:
    return client.get(path).headers["etag"]


def test_update_needs_if_match(client: TestClient, curator_key: str) -> None:
    response = client.patch(
        "/v1/therapies/ivig", json={"onset_days": 10}, headers={"X-API-Key": curator_key}
    )
    assert response.status_code == 428
    assert "If-Match" in response.json()["detail"]


def test_a_stale_update_is_refused_not_lost(client: TestClient, curator_key: str) -> None:
    headers = {"X-API-Key": curator_key}
    etag = _etag(client, "/v1/therapies/ivig")
    first = client.patch(
        "/v1/therapies/ivig", json={"onset_days": 10}, headers={**headers, "If-Match": etag}
    )
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag
    second = client.patch(
        "/v1/therapies/ivig", json={"onset_days": 20}, headers={**headers, "If-Match": etag}
    )
    assert second.status_code == 412
    assert second.json()["current_revision"] == int(first.headers["etag"].strip('"'))
    assert client.get("/v1/therapies/ivig").json()["onset_days"] == 10


def test_update_records_before_and_after(client: TestClient, curator_key: str) -> None:
    headers = {"X-API-Key": curator_key}
    old = client.get("/v1/therapies/ivig").json()["summary"]
    response = client.patch(
        "/v1/therapies/ivig",
        json={"summary": "An updated plain-language summary."},
        headers={**headers, "If-Match": _etag(client, "/v1/therapies/ivig")},
    )
    assert response.status_code == 200
    entry = client.get("/v1/audit?entity=therapy&entity_id=ivig", headers=headers).json()["items"][
        0
    ]
    assert entry["before"]["summary"] == old
    assert entry["after"]["summary"] == "An updated plain-language summary."


def test_a_failed_write_changes_nothing(client: TestClient, curator_key: str) -> None:
    headers = {"X-API-Key": curator_key}
    before = version(client)
    indication = client.get("/v1/indications?therapy=ivig&condition=cidp").json()["items"][0]
    response = client.patch(
        f"/v1/indications/{indication['id']}",
        json={"source": "no-such-source"},
        headers={**headers, "If-Match": f'"{indication["revision"]}"'},
    )
    assert response.status_code == 422
    assert "no-such-source" in response.json()["detail"]
    assert version(client) == before
    assert client.get(f"/v1/indications/{indication['id']}").json() == indication


def test_validation_errors_keep_the_field_path(client: TestClient, curator_key: str) -> None:
    response = client.post(
        "/v1/therapies/ivig/costs",
        json={
            "amount": -1,
            "currency": "usd",
            "basis": "per_year",
            "region": "US",
            "year": 2024,
            "source": "x",
        },
        headers={"X-API-Key": curator_key},
    )
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"body/amount", "body/currency"} <= paths


def _cost(source: str) -> dict[str, Any]:
    return {
        "amount": 1234.5,
        "currency": "USD",
        "basis": "per_session",
        "region": "US",
        "year": 2025,
        "source": source,
    }


def test_cost_create_update_delete(client: TestClient, curator_key: str) -> None:
    headers = {"X-API-Key": curator_key}
    assert client.post("/v1/sources", json=NEW_SOURCE, headers=headers).status_code == 201
    created = client.post(
        "/v1/therapies/plasma-exchange/costs", json=_cost(NEW_SOURCE["id"]), headers=headers
    )
    assert created.status_code == 201, created.text
    cost = created.json()
    updated = client.patch(
        f"/v1/costs/{cost['id']}",
        json={"amount": 2000},
        headers={**headers, "If-Match": f'"{cost["revision"]}"'},
    )
    assert updated.status_code == 200
    assert updated.json()["amount"] == 2000
    costs = client.get("/v1/therapies/plasma-exchange").json()["costs"]
    assert any(c["id"] == cost["id"] and c["amount"] == 2000 for c in costs)
    deleted = client.delete(
        f"/v1/costs/{cost['id']}", headers={**headers, "If-Match": updated.headers["etag"]}
    )
    assert deleted.status_code == 204
    costs = client.get("/v1/therapies/plasma-exchange").json()["costs"]
    assert all(c["id"] != cost["id"] for c in costs)
    actions = [
        e["action"] for e in client.get("/v1/audit?entity=cost", headers=headers).json()["items"]
    ]
    assert actions[:3] == ["delete", "update", "create"]


def test_marking_a_shortage(client: TestClient, curator_key: str) -> None:
    headers = {"X-API-Key": curator_key}
    row = next(
        a for a in client.get("/v1/therapies/ivig").json()["availability"] if a["region"] == "US"
    )
    response = client.patch(
        f"/v1/availability/{row['id']}",
        json={"status": "shortage", "lead_time_days": 30},
        headers={**headers, "If-Match": f'"{row["revision"]}"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "shortage"


def test_risk_rule_must_name_a_known_risk_factor(client: TestClient, curator_key: str) -> None:
    rule = {
        "id": "ivig-test-rule",
        "code": "test",
        "attribute": "risk_factor",
        "operator": "has",
        "value": "made_up_factor",
        "severity": "relative",
        "safety_penalty": 0.1,
        "message": "A test rule.",
        "source": "article-ivig-2024",
    }
    response = client.post(
        "/v1/therapies/ivig/risk-rules", json=rule, headers={"X-API-Key": curator_key}
    )
    assert response.status_code == 422
    assert "made_up_factor" in response.json()["detail"]


def test_duplicate_indication_is_a_conflict(client: TestClient, curator_key: str) -> None:
    existing = client.get("/v1/indications?therapy=ivig&condition=cidp").json()["items"][0]
    body = {k: existing[k] for k in ("therapy", "condition", "status", "certainty", "source")}
    response = client.post("/v1/indications", json=body, headers={"X-API-Key": curator_key})
    assert response.status_code == 409
    assert "update it instead" in response.json()["detail"]


def test_a_cited_source_cannot_be_deleted(client: TestClient, curator_key: str) -> None:
    headers = {"X-API-Key": curator_key, "If-Match": '"1"'}
    before = version(client)
    response = client.delete("/v1/sources/article-ivig-2024", headers=headers)
    body = assert_problem(response, 409, "'article-ivig-2024' is still cited by", "conditions cidp")
    assert body["type"].endswith("/conflict")
    assert body["title"] == "Conflict"
    assert version(client) == before
    assert "article-ivig-2024" in {s["id"] for s in client.get("/v1/sources").json()["items"]}


def test_delete_a_condition_removes_its_indications(client: TestClient, curator_key: str) -> None:
    headers = {"X-API-Key": curator_key}
    etag = _etag(client, "/v1/conditions/gbs")
    response = client.delete("/v1/conditions/gbs", headers={**headers, "If-Match": etag})
    assert response.status_code == 204
    assert client.get("/v1/conditions/gbs").status_code == 404
    assert client.get("/v1/indications?condition=gbs").json() == {"items": []}


@pytest.mark.parametrize("if_match", ['"abc"', "W/"])
def test_a_malformed_if_match_is_a_clear_422(
    client: TestClient, curator_key: str, if_match: str
) -> None:
    response = client.patch(
        "/v1/therapies/ivig",
        json={"onset_days": 3},
        headers={"X-API-Key": curator_key, "If-Match": if_match},
    )
    assert response.status_code == 422
    assert "If-Match" in response.json()["detail"]


def test_a_rule_over_several_facts_can_be_curated_and_scores_at_once(
    client: TestClient, curator_key: str
) -> None:
    rule = {
        "id": "ivig-test-older-and-low-egfr",
        "code": "older_with_low_egfr",
        "when": {
            "all": [
                {"attribute": "age_years", "operator": "ge", "value": 65},
                {"attribute": "egfr", "operator": "lt", "value": 45},
            ]
        },
        "severity": "absolute",
        "condition": "cidp",
        "message": "A test rule over two facts.",
        "source": "article-ivig-2024",
    }
    response = client.post(
        "/v1/therapies/ivig/risk-rules", json=rule, headers={"X-API-Key": curator_key}
    )
    assert response.status_code == 201, response.text
    assert response.json()["when"]["all"][1]["attribute"] == "egfr"

    def ivig_excluded(age: float, egfr: float) -> bool:
        body = client.post(
            "/v1/score", json={"condition": "cidp", "patient": {"age_years": age, "egfr": egfr}}
        ).json()
        return any(
            e["therapy_id"] == "ivig" and "older_with_low_egfr" in {r["code"] for r in e["reasons"]}
            for e in body["excluded"]
        )

    assert ivig_excluded(70, 30)
    assert not ivig_excluded(60, 30)
    assert not ivig_excluded(70, 60)


def test_a_rule_on_an_unknown_fact_is_refused(client: TestClient, curator_key: str) -> None:
    rule = {
        "id": "ivig-test-unknown-fact",
        "code": "x",
        "when": {"any": [{"attribute": "shoe_size", "operator": "gt", "value": 44}]},
        "severity": "relative",
        "message": "A test rule.",
        "source": "article-ivig-2024",
    }
    response = client.post(
        "/v1/therapies/ivig/risk-rules", json=rule, headers={"X-API-Key": curator_key}
    )
    assert response.status_code == 422
    assert "unknown fact 'shoe_size'" in response.text


def test_an_indication_without_a_place_is_refused(client: TestClient, curator_key: str) -> None:
    body: dict[str, Any] = {
        "therapy": "eculizumab",
        "condition": "cidp",
        "status": "investigational",
        "certainty": "low",
        "source": "article-ivig-2024",
    }
    response = client.post("/v1/indications", json=body, headers={"X-API-Key": curator_key})
    assert response.status_code == 422
    assert "no place" in response.json()["detail"]
    body["place"] = {"requires": "inadequate_first_line", "therapies": ["ivig"]}
    response = client.post("/v1/indications", json=body, headers={"X-API-Key": curator_key})
    assert response.status_code == 201, response.text
    naive = client.post(
        "/v1/score", json={"condition": "cidp", "patient": {"prior_treatments": []}}
    ).json()
    assert "eculizumab" in {w["therapy_id"] for w in naive["later"]}


def test_an_indication_course_is_curated_and_its_source_kept(
    client: TestClient, curator_key: str
) -> None:
    """A curator writes how long a treatment lasts; the grid says it at once; a course naming
    an unknown source changes nothing; a source a course cites cannot be deleted."""
    headers = {"X-API-Key": curator_key}
    indication = client.get("/v1/indications?therapy=ivig&condition=mg").json()["items"][0]
    assert indication["course"] is None
    bad = {"kind": "ongoing", "text": "Long term.", "source": "no-such-source"}
    before = version(client)
    response = client.patch(
        f"/v1/indications/{indication['id']}",
        json={"course": bad},
        headers={**headers, "If-Match": f'"{indication["revision"]}"'},
    )
    assert response.status_code == 422
    assert "no-such-source" in response.json()["detail"]
    assert version(client) == before
    course = {"kind": "ongoing", "text": "Repeated as maintenance.", "source": "sanders-mg-2016"}
    response = client.patch(
        f"/v1/indications/{indication['id']}",
        json={"course": course},
        headers={**headers, "If-Match": f'"{indication["revision"]}"'},
    )
    assert response.status_code == 200, response.text
    assert client.get(f"/v1/indications/{indication['id']}").json()["course"] == course
    request = {"condition": "mg", "patient": {"age_years": 45}, "preferences": {"region": "US"}}
    grid = client.post("/v1/option-grid", json=request).json()
    often = next(r for r in grid["rows"] if r["id"] == "often")
    ivig = next(c for c in often["cells"] if c["therapy_id"] == "ivig")
    assert ivig["text"].endswith("How long: repeated as maintenance.")
    assert "sanders-mg-2016" in ivig["sources"]
    response = client.delete("/v1/sources/zaja-2010", headers={**headers, "If-Match": '"1"'})
    assert_problem(response, 409, "'zaja-2010' is still cited by", "(its course)")
