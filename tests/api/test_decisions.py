"""Decision records: the contract, exact replay after catalog edits, roles, bad input, privacy."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from support.problems import assert_problem

from api.settings import Settings
from db.models import DecisionAccess, DecisionRecord
from db.session import make_engine, make_session_factory

REQUEST: dict[str, Any] = {
    "condition": "cidp",
    "patient": {"age_years": 52, "weight_kg": 80, "risk_factors": ["thrombosis_history"]},
    "preferences": {"region": "US"},
    # Availability 0: a supply change then shows as a caution, not as a move in the order.
    "weights": {"availability": 0},
}


def _headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def _ranked(client: TestClient, request: dict[str, Any] = REQUEST) -> list[str]:
    response = client.post("/v1/score", json=request)
    assert response.status_code == 200, response.text
    return [o["therapy_id"] for o in response.json()["ranked"]]


def _decide(client: TestClient, key: str, **fields: Any) -> Any:
    body = {"request": REQUEST, "status": "decided", "participants": ["patient", "clinician"]}
    body.update(fields)
    if "chosen_therapy_id" not in fields and body["status"] == "decided":
        body["chosen_therapy_id"] = _ranked(client)[0]
    return client.post("/v1/decisions", json=body, headers=_headers(key))


def _count(database_url: str, model: type[Any]) -> int:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_a_decision_is_recorded_with_its_evidence(client: TestClient, clinician_key: str) -> None:
    response = _decide(client, clinician_key, note="Prefers home treatment.")
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {
        "id",
        "catalog_version",
        "engine_version",
        "result_digest",
        "created_at",
    }
    assert len(created["result_digest"]) == 64
    score = client.post("/v1/score", json=REQUEST).json()
    assert created["catalog_version"] == score["catalog_version"]

    read = client.get(f"/v1/decisions/{created['id']}", headers=_headers(clinician_key))
    assert read.status_code == 200, read.text
    record = read.json()
    assert record["status"] == "decided"
    assert record["participants"] == ["patient", "clinician"]
    assert record["note"] == "Prefers home treatment."
    assert record["result"] == score
    assert record["corrected_by"] == []


def test_replay_is_identical_on_the_same_catalog(client: TestClient, clinician_key: str) -> None:
    created = _decide(client, clinician_key).json()
    replay = client.post(f"/v1/decisions/{created['id']}/replay", headers=_headers(clinician_key))
    assert replay.status_code == 200, replay.text
    assert replay.json() == {
        "identical": True,
        "catalog_version": created["catalog_version"],
        "result_digest": created["result_digest"],
        "engine_changed": False,
    }


def _etag_of_rule(client: TestClient, therapy_id: str, rule_id: str) -> tuple[dict[str, Any], str]:
    therapy = client.get(f"/v1/therapies/{therapy_id}").json()
    rule = next(r for r in therapy["risk_rules"] if r["id"] == rule_id)
    return rule, f'"{rule["revision"]}"'


def test_replay_after_curator_edits_is_identical_and_reports_exactly_the_changes(
    client: TestClient, clinician_key: str, curator_key: str
) -> None:
    created = _decide(client, clinician_key).json()
    before = client.post("/v1/score", json=REQUEST).json()
    ivig_before = next(o for o in before["ranked"] if o["therapy_id"] == "ivig")

    therapy = client.get("/v1/therapies/ivig").json()
    supply = next(a for a in therapy["availability"] if a["region"] == "US")
    patched = client.patch(
        f"/v1/availability/{supply['id']}",
        json={"status": "shortage"},
        headers={**_headers(curator_key), "If-Match": f'"{supply["revision"]}"'},
    )
    assert patched.status_code == 200, patched.text
    rule, etag = _etag_of_rule(client, "ivig", "ivig-thrombosis-history")
    reworded = "Thrombosis history: discuss clot risk with your care team before IVIG."
    patched = client.patch(
        "/v1/risk-rules/ivig-thrombosis-history",
        json={"message": reworded},
        headers={**_headers(curator_key), "If-Match": etag},
    )
    assert patched.status_code == 200, patched.text

    url = f"/v1/decisions/{created['id']}/replay"
    replay = client.post(url, headers=_headers(clinician_key))
    assert replay.status_code == 200, replay.text
    assert replay.json()["identical"] is True
    assert replay.json()["catalog_version"] == created["catalog_version"]

    against = client.post(url, params={"against": "current"}, headers=_headers(clinician_key))
    assert against.status_code == 200, against.text
    body = against.json()
    assert body["identical"] is True
    changes = body["changes"]
    assert changes["to_version"] == created["catalog_version"] + 2
    assert changes["added"] == changes["removed"] == changes["rank_changes"] == []
    assert changes["figures"] == []
    assert len(changes["cautions"]) == 1
    ivig = changes["cautions"][0]
    assert ivig["therapy_id"] == "ivig"
    old = {(c["code"], c["message"]) for c in ivig_before["cautions"]}
    assert {c["code"] for c in ivig["removed"]} == {"supply_constrained", rule["code"]}
    assert {(c["code"], c["message"]) for c in ivig["removed"]} <= old
    assert {c["code"] for c in ivig["added"]} == {"shortage", rule["code"]}
    assert reworded in {c["message"] for c in ivig["added"]}


def test_replay_of_an_old_release_does_not_disturb_the_live_catalog(
    client: TestClient, clinician_key: str, curator_key: str
) -> None:
    created = _decide(client, clinician_key).json()
    therapy = client.get("/v1/therapies/ivig").json()
    supply = next(a for a in therapy["availability"] if a["region"] == "US")
    client.patch(
        f"/v1/availability/{supply['id']}",
        json={"status": "shortage"},
        headers={**_headers(curator_key), "If-Match": f'"{supply["revision"]}"'},
    )
    live_version = client.post("/v1/score", json=REQUEST).json()["catalog_version"]
    replay = client.post(f"/v1/decisions/{created['id']}/replay", headers=_headers(clinician_key))
    assert replay.json()["identical"] is True
    assert client.post("/v1/score", json=REQUEST).json()["catalog_version"] == live_version
    assert live_version == created["catalog_version"] + 1


def test_a_deferred_decision_has_no_choice(client: TestClient, clinician_key: str) -> None:
    assert _decide(client, clinician_key, status="deferred").status_code == 201
    refused = _decide(client, clinician_key, status="deferred", chosen_therapy_id="ivig")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_choice_outside_the_ranked_options_is_refused_naming_them(
    client: TestClient, clinician_key: str, database_url: str
) -> None:
    ranked = _ranked(client)
    response = _decide(client, clinician_key, chosen_therapy_id="ocrelizumab")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["ranked"] == ranked
    assert problem["errors"] == [
        {"path": "body/chosen_therapy_id", "message": "not a ranked option", "type": "enum"}
    ]
    for therapy_id in ranked:
        assert therapy_id in problem["detail"]
    assert _count(database_url, DecisionRecord) == 0


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"note": "x" * 2001}, "note"),
        ({"participants": ["patient", "lawyer"]}, "participants"),
        ({"participants": ["patient", "patient"]}, "participants"),
        ({"status": "maybe"}, "status"),
        ({"corrects": "no-such-record"}, "corrects"),
        ({"external_ref": ""}, "external_ref"),
    ],
)
def test_bad_input_is_a_422_and_writes_nothing(
    client: TestClient, clinician_key: str, database_url: str, fields: dict[str, Any], path: str
) -> None:
    response = _decide(client, clinician_key, **fields)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert path in response.text
    assert _count(database_url, DecisionRecord) == 0


def test_an_unknown_decision_is_a_404(client: TestClient, clinician_key: str) -> None:
    for response in (
        client.get("/v1/decisions/nope", headers=_headers(clinician_key)),
        client.post("/v1/decisions/nope/replay", headers=_headers(clinician_key)),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("reader", 403), ("curator", 403), ("clinician", 201), ("admin", 201)],
)
def test_recording_needs_the_clinician_permission(
    client: TestClient,
    database_url: str,
    request: pytest.FixtureRequest,
    role: str | None,
    status: int,
) -> None:
    key = request.getfixturevalue(f"{role}_key") if role else None
    body = {"request": REQUEST, "status": "deferred"}
    headers = _headers(key) if key else {}
    response = client.post("/v1/decisions", json=body, headers=headers)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert _count(database_url, DecisionRecord) == 0


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("reader", 403), ("curator", 403), ("clinician", 200), ("admin", 200)],
)
def test_reading_and_replaying_need_the_clinician_permission(
    client: TestClient,
    clinician_key: str,
    request: pytest.FixtureRequest,
    role: str | None,
    status: int,
) -> None:
    created = _decide(client, clinician_key, external_ref="visit-1").json()
    key = request.getfixturevalue(f"{role}_key") if role else None
    headers = _headers(key) if key else {}
    read = client.get(f"/v1/decisions/{created['id']}", headers=headers)
    listed = client.get("/v1/decisions", params={"external_ref": "visit-1"}, headers=headers)
    replayed = client.post(f"/v1/decisions/{created['id']}/replay", headers=headers)
    if status != 200:
        for response in (read, listed, replayed):
            problem = assert_problem(response, status)
            assert problem["title"] == ("Unauthorized" if status == 401 else "Forbidden")
        return
    assert read.status_code == listed.status_code == replayed.status_code == 200
    assert read.json()["id"] == created["id"]
    assert read.json()["result_digest"] == created["result_digest"]
    assert [d["id"] for d in listed.json()["items"]] == [created["id"]]
    assert replayed.json()["identical"] is True
    assert replayed.json()["result_digest"] == created["result_digest"]


def test_external_ref_is_stored_only_as_an_hmac_and_finds_the_records(
    client: TestClient, clinician_key: str, database_url: str
) -> None:
    first = _decide(client, clinician_key, external_ref="MRN-12345/visit-7").json()
    correction = _decide(
        client,
        clinician_key,
        status="deferred",
        external_ref="MRN-12345/visit-7",
        corrects=first["id"],
    ).json()
    _decide(client, clinician_key, external_ref="another-visit")

    found = client.get(
        "/v1/decisions",
        params={"external_ref": "MRN-12345/visit-7"},
        headers=_headers(clinician_key),
    )
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    assert [i["id"] for i in items] == [first["id"], correction["id"]]
    assert items[0]["corrected_by"] == [correction["id"]]
    assert items[1]["corrects"] == first["id"]

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            stored = session.scalars(select(DecisionRecord.external_ref_hmac)).all()
    finally:
        engine.dispose()
    assert all(value and "MRN" not in value and len(value) == 64 for value in stored)


def test_reads_are_audited_and_the_note_is_never_logged(
    client: TestClient, clinician_key: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    note = "Patient worried about travel; daughter drives."
    created = _decide(client, clinician_key, note=note).json()
    client.get(f"/v1/decisions/{created['id']}", headers=_headers(clinician_key))
    client.post(f"/v1/decisions/{created['id']}/replay", headers=_headers(clinician_key))
    assert note not in caplog.text
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            actions = session.scalars(
                select(DecisionAccess.action).order_by(DecisionAccess.id)
            ).all()
    finally:
        engine.dispose()
    assert actions == ["read", "replay"]


def test_a_record_is_never_changed_by_its_correction(
    client: TestClient, clinician_key: str
) -> None:
    first = _decide(client, clinician_key, note="first").json()
    before = client.get(f"/v1/decisions/{first['id']}", headers=_headers(clinician_key)).json()
    request = copy.deepcopy(REQUEST)
    request["patient"]["age_years"] = 53
    _decide(client, clinician_key, request=request, corrects=first["id"])
    after = client.get(f"/v1/decisions/{first['id']}", headers=_headers(clinician_key)).json()
    assert {k: v for k, v in after.items() if k != "corrected_by"} == {
        k: v for k, v in before.items() if k != "corrected_by"
    }
    assert len(after["corrected_by"]) == 1


def _set(database_url: str, statement: str, **params: Any) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    finally:
        engine.dispose()


def _move_catalog(client: TestClient, curator_key: str) -> None:
    therapy = client.get("/v1/therapies/ivig").json()
    supply = next(a for a in therapy["availability"] if a["region"] == "US")
    response = client.patch(
        f"/v1/availability/{supply['id']}",
        json={"status": "shortage"},
        headers={**_headers(curator_key), "If-Match": f'"{supply["revision"]}"'},
    )
    assert response.status_code == 200, response.text


def test_a_record_made_by_another_engine_says_so_and_still_compares_honestly(
    client: TestClient, clinician_key: str, database_url: str
) -> None:
    created = _decide(client, clinician_key).json()
    _set(
        database_url,
        "UPDATE decision_records SET engine_version = 'older', result_digest = :digest",
        digest="0" * 64,
    )
    replay = client.post(f"/v1/decisions/{created['id']}/replay", headers=_headers(clinician_key))
    assert replay.status_code == 200, replay.text
    body = replay.json()
    assert body["engine_changed"] is True
    assert body["identical"] is False
    assert body["result_digest"] == created["result_digest"]


def test_a_version_without_a_recorded_release_cannot_be_replayed(
    client: TestClient, clinician_key: str, curator_key: str, database_url: str
) -> None:
    """As if releases began after the version the record was made on (a database from before
    they existed): the baseline, the first `catalog_releases` row, comes later."""
    created = _decide(client, clinician_key).json()
    _move_catalog(client, curator_key)
    later = _decide(client, clinician_key).json()
    assert later["catalog_version"] > created["catalog_version"]
    _set(database_url, "DELETE FROM catalog_releases")
    _set(
        database_url,
        "INSERT INTO catalog_releases (version, changed, recorded_at) "
        "VALUES (:version, 0, CURRENT_TIMESTAMP)",
        version=later["catalog_version"],
    )
    replay = client.post(f"/v1/decisions/{created['id']}/replay", headers=_headers(clinician_key))
    assert replay.status_code == 409
    assert replay.headers["content-type"] == "application/problem+json"
    detail = replay.json()["detail"]
    assert "no recorded release" in detail
    assert f"versions {later['catalog_version']} to {later['catalog_version']}" in detail
    after = client.post(f"/v1/decisions/{later['id']}/replay", headers=_headers(clinician_key))
    assert after.status_code == 200, after.text
    assert after.json()["identical"] is True


def test_the_ref_secret_is_required_in_production() -> None:
    base: dict[str, Any] = {
        "_env_file": None,
        "environment": "production",
        "database_url": "postgresql+psycopg://x@localhost/x",
        "cors_origins": ["https://clinic.example.org"],
    }
    with pytest.raises(ValueError, match="TADA_DECISION_REF_SECRET"):
        Settings(**base)
    with pytest.raises(ValueError, match="TADA_DECISION_REF_SECRET"):
        Settings(**base, decision_ref_secret="short")
    settings = Settings(**base, decision_ref_secret="x" * 32)
    assert settings.decision_ref_key == b"x" * 32


def test_against_current_reports_a_changed_outcome_figure(
    client: TestClient, clinician_key: str, curator_key: str
) -> None:
    created = _decide(client, clinician_key).json()
    indication = client.get(
        "/v1/indications", params={"therapy": "ivig", "condition": "cidp"}
    ).json()["items"][0]
    figures = [_figure_entry(f) for f in indication["figures"]]
    figures[0]["events"] -= 1
    patched = client.patch(
        f"/v1/indications/{indication['id']}",
        json={"figures": figures},
        headers={**_headers(curator_key), "If-Match": f'"{indication["revision"]}"'},
    )
    assert patched.status_code == 200, patched.text
    replay = client.post(
        f"/v1/decisions/{created['id']}/replay",
        params={"against": "current"},
        headers=_headers(clinician_key),
    ).json()
    assert replay["identical"] is True
    assert replay["changes"]["figures"] == [
        {"therapy_id": "ivig", "added": [], "removed": [], "changed": [figures[0]["id"]]}
    ]


def _figure_entry(read: dict[str, Any]) -> dict[str, Any]:
    """A figure as read (GET /v1/indications) in the catalog file's write shape."""
    keep = ("id", "measure", "population", "time_frame", "events", "per", "higher_is_better")
    entry = {k: read[k] for k in keep}
    entry |= {k: read[k] for k in ("certainty", "uncertainty", "source")}
    entry["denominator"] = read.get("denominator") or "people"
    if read["comparator_events"] is not None:
        entry["comparator"] = {"label": read["comparator"], "events": read["comparator_events"]}
    return entry
