"""The direct way through `/v1/score`, `/v1/option-grid` and the CDS services (api/direct.py)
and FastAPI's own handler give the same answer, byte for byte, for the usual request and for
bad ones.

FastAPI's way is taken by any request the direct way does not read: here, the same body with
`Content-Type: application/json; charset=utf-8`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from api.direct import json_body

DIRECT = {"content-type": "application/json"}
FASTAPI = {"content-type": "application/json; charset=utf-8"}
PATIENT_VIEW = (
    Path(__file__).resolve().parents[2] / "bench" / "patient_view_request.json"
).read_bytes()

SCORE: dict[str, Any] = {
    "condition": "cidp",
    "patient": {
        "age_years": 52,
        "weight_kg": 80,
        "egfr": 25,
        "risk_factors": ["thrombosis_history"],
        "prior_supervised_infusions": 0,
    },
    "preferences": {"settings": ["home"], "region": "US"},
    "weights": {"efficacy": 8, "safety": 7, "cost": 4},
}
# The routes that take a score request and have a direct way.
SCORE_PATHS = ["/v1/score", "/v1/option-grid"]


def both_ways(client: TestClient, path: str, body: bytes) -> tuple[Any, Any]:
    direct = client.post(path, content=body, headers=DIRECT)
    standard = client.post(path, content=body, headers=FASTAPI)
    return direct, standard


def assert_same(direct: Any, standard: Any) -> None:
    assert direct.status_code == standard.status_code, (direct.text, standard.text)
    assert direct.content == standard.content
    assert direct.headers["content-type"] == standard.headers["content-type"]


CARD_UUID = re.compile(rb'"uuid":"[0-9a-f-]{36}"')


def assert_same_cards(direct: Any, standard: Any) -> None:
    """Alike but for each card's `uuid`, new on every call (CDS Hooks: a card's own id)."""
    assert direct.status_code == standard.status_code, (direct.text, standard.text)
    assert CARD_UUID.sub(b"", direct.content) == CARD_UUID.sub(b"", standard.content)
    assert direct.headers["content-type"] == standard.headers["content-type"]


@pytest.mark.parametrize(
    "body",
    [
        SCORE,
        {**SCORE, "method": "topsis"},
        {"condition": "cidp"},
        {"condition": {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "g61.81"}},
        {**SCORE, "patient": {**SCORE["patient"], "prior_treatments": []}},
        {**SCORE, "condition": "no-such-condition"},  # 404
        {**SCORE, "patient": {"risk_factors": ["no_such_factor"]}},  # 422 from the service
        {
            **SCORE,
            "weights": dict.fromkeys(
                ("efficacy", "safety", "convenience", "cost", "availability", "onset"), 0
            ),
        },  # 422, all zero
        {**SCORE, "weights": {"efficacy": 11}},  # 422 from validation (FastAPI's way)
        {"patient": {}},  # 422, no condition
        [SCORE],  # 422, not an object
        {**SCORE, "preferences": {"region": "NO"}},
        {**SCORE, "patient": {"age_years": 8}, "condition": "itp"},
    ],
)
@pytest.mark.parametrize("path", SCORE_PATHS)
def test_a_score_request_is_answered_alike_both_ways(
    client: TestClient, path: str, body: Any
) -> None:
    assert_same(*both_ways(client, path, json.dumps(body).encode()))


@pytest.mark.parametrize(
    "raw", [b"", b"{", b'{"condition": NaN}', b'{"condition": "\\ud800"}', b"null"]
)
@pytest.mark.parametrize("path", SCORE_PATHS)
def test_a_body_the_direct_way_cannot_read_is_answered_alike(
    client: TestClient, path: str, raw: bytes
) -> None:
    assert_same(*both_ways(client, path, raw))


def test_a_grid_is_alike_whether_its_catalog_wording_is_read_first_or_in_memory(
    client: TestClient,
) -> None:
    """The first grid at a catalog version reads the catalog's wording from the database (off
    the event loop); the next ones answer from memory: the same bytes as FastAPI's way."""
    body = json.dumps(SCORE).encode()
    texts = client.app.state.catalog_texts  # type: ignore[attr-defined]
    version = client.get("/v1/catalog/version").json()["catalog_version"]
    wording = {"condition_id": "cidp", "therapy_ids": ["ivig"]}
    assert not texts.holds(version, **wording)
    first = client.post("/v1/option-grid", content=body, headers=DIRECT)
    assert texts.holds(version, **wording)
    again = client.post("/v1/option-grid", content=body, headers=DIRECT)
    standard = client.post("/v1/option-grid", content=body, headers=FASTAPI)
    assert first.status_code == 200, first.text
    assert_same(first, standard)
    assert_same(again, standard)


@pytest.mark.parametrize("path", SCORE_PATHS)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    age=st.one_of(st.none(), st.floats(min_value=0, max_value=120)),
    egfr=st.one_of(st.none(), st.floats(min_value=0, max_value=200)),
    weight=st.one_of(st.none(), st.floats(min_value=1, max_value=300)),
    factors=st.lists(st.sampled_from(["thrombosis_history", "heart_failure", "iga_deficiency"])),
    ratings=st.dictionaries(
        st.sampled_from(["efficacy", "safety", "convenience", "cost", "availability", "onset"]),
        st.integers(min_value=0, max_value=10),
    ),
    urgent=st.booleans(),
    budget=st.one_of(st.none(), st.integers(min_value=0, max_value=500_000)),
)
def test_any_score_case_gives_the_same_bytes_both_ways(
    client: TestClient,
    path: str,
    age: float | None,
    egfr: float | None,
    weight: float | None,
    factors: list[str],
    ratings: dict[str, int],
    urgent: bool,
    budget: int | None,
) -> None:
    body = {
        "condition": "cidp",
        "patient": {"age_years": age, "egfr": egfr, "weight_kg": weight, "risk_factors": factors},
        "preferences": {"urgent": urgent, "max_annual_cost": budget},
        "weights": ratings,
    }
    assert_same(*both_ways(client, path, json.dumps(body).encode()))


def test_a_grid_query_takes_fastapis_way(client: TestClient) -> None:
    """The grid has no query parameter: FastAPI's way ignores one, as it did before."""
    body = json.dumps(SCORE).encode()
    with_query = client.post("/v1/option-grid?x=1", content=body, headers=DIRECT)
    assert with_query.status_code == 200, with_query.text
    assert (
        with_query.content == client.post("/v1/option-grid", content=body, headers=FASTAPI).content
    )


def test_a_query_takes_fastapis_way(client: TestClient) -> None:
    """`?method=` overrides the body's method; the direct way leaves every query to FastAPI."""
    response = client.post("/v1/score?method=topsis", json=SCORE)
    assert response.status_code == 200, response.text
    assert response.json()["method"] == "topsis"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/cds-services/tada-patient-view", PATIENT_VIEW),
        ("/cds-services/no-such-service", PATIENT_VIEW),  # 404
        ("/cds-services/tada-ig-order-sign", PATIENT_VIEW),  # 400: another hook
        ("/cds-services/tada-patient-view", b'{"hook": "patient-view"}'),  # 422
    ],
)
def test_a_cds_call_is_answered_alike_both_ways(client: TestClient, path: str, body: bytes) -> None:
    assert_same_cards(*both_ways(client, path, body))


class Small(BaseModel):
    name: str


@pytest.mark.parametrize(
    ("query", "content_type", "raw", "read"),
    [
        (b"", b"application/json", b'{"name": "a"}', True),
        (b"x=1", b"application/json", b'{"name": "a"}', False),
        (b"", b"application/json; charset=utf-8", b'{"name": "a"}', False),
        (b"", b"text/plain", b'{"name": "a"}', False),
        (b"", b"application/json", b"", False),
        (b"", b"application/json", b'{"name": 1}', False),
        (b"", b"application/json", b'{"name": "a"', False),
    ],
)
def test_json_body_reads_only_the_usual_request(
    query: bytes, content_type: bytes, raw: bytes, read: bool
) -> None:
    app = FastAPI()
    seen: list[Small | None] = []

    @app.post("/")
    async def endpoint(request: Request) -> dict[str, str]:
        seen.append(await json_body(request, Small))
        return {}

    path = "/?" + query.decode() if query else "/"
    TestClient(app).post(path, content=raw, headers={"content-type": content_type.decode()})
    assert (seen[0] is not None) is read


def test_without_an_origin_the_answer_varies_on_origin_and_allows_none(
    client: TestClient,
) -> None:
    response = client.get("/healthz")
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in response.headers


def test_an_allowed_origin_gets_the_cors_headers(database_url: str) -> None:
    from api.app import create_app
    from api.settings import Settings

    config = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0,
        warm_up=False,
        cors_origins=["https://ehr.example"],
    )
    with TestClient(create_app(config)) as client:
        response = client.get("/healthz", headers={"Origin": "https://ehr.example"})
        refused = client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
    assert response.headers["access-control-allow-origin"] == "https://ehr.example"
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-origin" not in refused.headers
