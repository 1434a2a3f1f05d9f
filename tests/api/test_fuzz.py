"""No input produces a 500: random JSON, and near-valid requests with wrong types and values."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

ODD = st.one_of(
    JSON,
    st.sampled_from(["cidp", "pi", "", "G61.81", "itp"]),
    st.floats(allow_nan=False, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
)

FIELDS = {
    "condition": ODD,
    "patient": st.fixed_dictionaries(
        {},
        optional={
            "age_years": ODD,
            "weight_kg": ODD,
            "egfr": ODD,
            "pregnant": ODD,
            "risk_factors": st.lists(st.sampled_from(["thrombosis_history", "x", ""]), max_size=3)
            | ODD,
            "prior_supervised_infusions": ODD,
            "platelet_count": ODD,
        },
    )
    | ODD,
    "preferences": st.fixed_dictionaries(
        {},
        optional={
            "settings": st.lists(st.sampled_from(["home", "hospital", "moon"]), max_size=3) | ODD,
            "region": ODD,
            "max_annual_cost": ODD,
            "urgent": ODD,
        },
    )
    | ODD,
    "weights": st.dictionaries(
        st.sampled_from(["efficacy", "safety", "cost", "onset", "nope"]), ODD, max_size=4
    )
    | ODD,
    "method": ODD,
}

NEAR_VALID = st.fixed_dictionaries(
    {"condition": st.sampled_from(["cidp", "pi", "itp", "mmn"])},
    optional={k: v for k, v in FIELDS.items() if k != "condition"},
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]


@FUZZ
@given(body=JSON)
def test_any_json_body_to_score(client: TestClient, body: Any) -> None:
    _check(
        client.post(
            "/v1/score", content=json.dumps(body), headers={"content-type": "application/json"}
        )
    )


@FUZZ
@given(body=NEAR_VALID)
def test_near_valid_score_requests(client: TestClient, body: dict[str, Any]) -> None:
    _check(
        client.post(
            "/v1/score", content=json.dumps(body), headers={"content-type": "application/json"}
        )
    )


@FUZZ
@given(
    body=JSON,
    path=st.sampled_from(["/v1/therapies", "/v1/conditions", "/v1/indications", "/v1/sources"]),
)
def test_any_json_body_to_curator_writes(
    client: TestClient, curator_key: str, body: Any, path: str
) -> None:
    _check(
        client.post(
            path,
            content=json.dumps(body),
            headers={"content-type": "application/json", "X-API-Key": curator_key},
        )
    )


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes(client: TestClient, raw: bytes) -> None:
    _check(client.post("/v1/score", content=raw, headers={"content-type": "application/json"}))
