"""Where the patient is in treatment, against the seed catalog, as a clinic pharmacist checks it.

For each condition: a treatment-naive patient, one responding to a first treatment and one whose
first treatment did not work: what comes first, and what waits for a later decision point
(`later[]`, code `later_decision_point`). History unknown keeps every option ranked with
`needs_check_prior_treatment`. Guideline places are catalog data (EAN/PNS 2021 CIDP, EFNS/PNS
2010 MMN, AAN 2011 plasma exchange, ASH 2019 ITP, MG consensus 2016/2020, MIST).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.schemas.score import ScoreResponse


def score(client: TestClient, condition: str, **patient: Any) -> dict[str, Any]:
    response = client.post("/v1/score", json={"condition": condition, "patient": patient})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    ScoreResponse.model_validate(body)  # the documented schema and the bytes agree
    return body


def ranked(body: dict[str, Any]) -> list[str]:
    return [o["therapy_id"] for o in body["ranked"]]


def later(body: dict[str, Any]) -> set[str]:
    return {o["therapy_id"] for o in body["later"]}


def excluded(body: dict[str, Any]) -> dict[str, set[str]]:
    return {e["therapy_id"]: {r["code"] for r in e["reasons"]} for e in body["excluded"]}


def cautions(body: dict[str, Any], therapy_id: str) -> set[str]:
    option = next(o for o in body["ranked"] if o["therapy_id"] == therapy_id)
    return {c["code"] for c in option["cautions"]}


def given(therapy_id: str, outcome: str | None = None, ongoing: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"therapy_id": therapy_id, "ongoing": ongoing}
    if outcome:
        entry["outcome"] = outcome
    return entry


# (condition, patient facts, history, first-ranked, ranked set includes, waits)
CASES: list[tuple[str, str, dict[str, Any], list[dict[str, Any]], set[str], set[str]]] = [
    # CIDP: IVIG and steroids first; SCIG is maintenance after a response to IVIG; plasma
    # exchange, rituximab, efgartigimod and a transplant after the first treatments fail.
    (
        "cidp naive",
        "cidp",
        {"age_years": 52},
        [],
        {"ivig", "corticosteroids"},
        {"scig", "plasma-exchange", "rituximab", "efgartigimod", "hsct"},
    ),
    (
        "cidp responding to IVIG",
        "cidp",
        {"age_years": 52},
        [given("ivig", "responded", ongoing=True)],
        {"ivig", "scig", "corticosteroids"},
        {"plasma-exchange", "rituximab", "efgartigimod", "hsct"},
    ),
    (
        "cidp refractory to IVIG",
        "cidp",
        {"age_years": 52},
        [given("ivig", "inadequate_response")],
        {"plasma-exchange", "corticosteroids", "efgartigimod"},
        {"scig"},
    ),
    # MMN: IVIG first; SCIG keeps up a response to IVIG.
    ("mmn naive", "mmn", {"age_years": 45}, [], {"ivig"}, {"scig"}),
    (
        "mmn responding",
        "mmn",
        {"age_years": 45},
        [given("ivig", "responded", ongoing=True)],
        {"ivig", "scig"},
        set(),
    ),
    # MS relapse: high-dose steroids first; plasma exchange for a steroid-refractory relapse.
    (
        "ms relapse naive",
        "ms-relapse",
        {"age_years": 30},
        [],
        {"corticosteroids"},
        {"plasma-exchange"},
    ),
    (
        "ms relapse refractory",
        "ms-relapse",
        {"age_years": 30},
        [given("corticosteroids", "inadequate_response")],
        {"plasma-exchange"},
        set(),
    ),
    # MG (chronic): steroids first; long-term IVIG or plasma exchange, rituximab, biologics after.
    (
        "mg naive",
        "mg",
        {"age_years": 40, "antibody_status": "achr"},
        [],
        {"corticosteroids"},
        {"ivig", "plasma-exchange", "rituximab", "efgartigimod", "eculizumab"},
    ),
    (
        "mg responding to steroids",
        "mg",
        {"age_years": 40, "antibody_status": "achr"},
        [given("corticosteroids", "responded", ongoing=True)],
        {"corticosteroids"},
        {"ivig", "plasma-exchange", "efgartigimod", "eculizumab"},
    ),
    (
        "mg refractory to steroids",
        "mg",
        {"age_years": 40, "antibody_status": "achr"},
        [given("corticosteroids", "inadequate_response")],
        {"ivig", "plasma-exchange", "rituximab", "efgartigimod", "eculizumab"},
        set(),
    ),
    # MG exacerbation and GBS: IVIG and plasma exchange are both first.
    (
        "mg exacerbation naive",
        "mg-exacerbation",
        {"age_years": 60},
        [],
        {"ivig", "plasma-exchange"},
        set(),
    ),
    ("gbs naive", "gbs", {"age_years": 60}, [], {"ivig", "plasma-exchange"}, set()),
    # ITP: steroids first (IVIG when a fast rise is needed); rituximab after steroids, from
    # 3 months on (persistent or chronic).
    (
        "itp naive, newly diagnosed",
        "itp",
        {"age_years": 40, "platelet_count": 15, "phase": "newly_diagnosed"},
        [],
        {"corticosteroids", "ivig"},
        {"rituximab", "hsct"},
    ),
    (
        "itp responding to steroids",
        "itp",
        {"age_years": 40, "platelet_count": 60, "phase": "newly_diagnosed"},
        [given("corticosteroids", "responded", ongoing=True)],
        {"corticosteroids", "observation"},
        {"rituximab", "hsct"},
    ),
    (
        "itp refractory, persistent",
        "itp",
        {"age_years": 40, "platelet_count": 15, "phase": "persistent"},
        [given("corticosteroids", "inadequate_response")],
        {"rituximab", "ivig"},
        {"hsct"},  # chronic phase only
    ),
    # PI: immunoglobulin first; a transplant only when it does not control the illness.
    ("pi naive", "pi", {"age_years": 30}, [], {"ivig", "scig"}, {"hsct-allogeneic"}),
    # MS (relapsing): a transplant for MS active despite disease-modifying drugs.
    ("ms naive", "ms", {"age_years": 30}, [], {"ocrelizumab"}, {"hsct"}),
    (
        "ms breakthrough",
        "ms",
        {"age_years": 30},
        [given("ocrelizumab", "inadequate_response")],
        {"hsct"},
        set(),
    ),
]


@pytest.mark.parametrize(
    ("label", "condition", "facts", "history", "includes", "waits"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_what_comes_first_and_what_waits(
    client: TestClient,
    label: str,
    condition: str,
    facts: dict[str, Any],
    history: list[dict[str, Any]],
    includes: set[str],
    waits: set[str],
) -> None:
    body = score(client, condition, **facts, prior_treatments=history)
    assert includes <= set(ranked(body)), (label, ranked(body))
    assert waits <= later(body), (label, later(body))
    assert not later(body) & set(ranked(body))
    for waiting in body["later"]:
        (reason,) = waiting["reasons"]
        assert reason["code"] == "later_decision_point"
        assert reason["message"]
        assert reason["source"]
        assert reason["citation"]
    for option in body["ranked"]:
        assert "needs_check_prior_treatment" not in cautions(body, option["therapy_id"])


def test_treatment_naive_cidp_never_ranks_scig_first(client: TestClient) -> None:
    body = score(client, "cidp", age_years=52, prior_treatments=[])
    assert ranked(body)[0] != "scig"
    assert "scig" in later(body)
    scig = next(w for w in body["later"] if w["therapy_id"] == "scig")
    assert "IVIG" in scig["reasons"][0]["message"]


def test_first_ms_relapse_ranks_steroids_above_plasma_exchange(client: TestClient) -> None:
    body = score(client, "ms-relapse", age_years=30, prior_treatments=[])
    assert ranked(body)[0] == "corticosteroids"
    assert "plasma-exchange" not in ranked(body)


@pytest.mark.parametrize("condition", ["cidp", "mg", "ms-relapse", "itp", "mmn"])
def test_history_unknown_keeps_every_option_ranked_with_a_check(
    client: TestClient, condition: str
) -> None:
    unknown = score(client, condition, age_years=40)
    null = score(client, condition, age_years=40, prior_treatments=None)
    assert unknown == null
    assert unknown["later"] == []
    naive = score(client, condition, age_years=40, prior_treatments=[])
    for therapy_id in later(naive):
        if therapy_id in ranked(unknown):
            assert "needs_check_prior_treatment" in cautions(unknown, therapy_id)


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        ("inadequate_response", "prior_inadequate_response"),
        ("not_tolerated", "prior_not_tolerated"),
    ],
)
def test_a_therapy_that_failed_is_excluded_with_its_reason(
    client: TestClient, outcome: str, code: str
) -> None:
    body = score(client, "cidp", age_years=52, prior_treatments=[given("ivig", outcome)])
    assert code in excluded(body)["ivig"]
    assert "ivig" not in ranked(body)


def test_given_with_response_unknown_asks(client: TestClient) -> None:
    body = score(client, "cidp", age_years=52, prior_treatments=[given("ivig")])
    assert "scig" in ranked(body)
    assert "needs_check_prior_treatment" in cautions(body, "scig")
    assert "ivig" in ranked(body)


def test_unknown_prior_therapy_ids_are_a_422_listing_them(client: TestClient) -> None:
    response = client.post(
        "/v1/score",
        json={
            "condition": "cidp",
            "patient": {
                "prior_treatments": [
                    {"therapy_id": "ivig"},
                    {"therapy_id": "zzz"},
                    {"therapy_id": "aaa", "outcome": "responded"},
                ]
            },
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert "['aaa', 'zzz']" in problem["detail"]
    assert problem["unknown_therapy_ids"] == ["aaa", "zzz"]


@pytest.mark.parametrize(
    "patient",
    [
        {"prior_treatments": [{"therapy_id": "ivig", "outcome": "cured"}]},
        {"prior_treatments": [{"outcome": "responded"}]},
        {"prior_treatments": "ivig"},
        {"phase": "acute"},
        {"antibody_status": "lrp4"},
    ],
)
def test_malformed_history_and_facts_are_422(client: TestClient, patient: dict[str, Any]) -> None:
    response = client.post("/v1/score", json={"condition": "itp", "patient": patient})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


# --- Rules over several facts, HBV and budgets in the seed catalog --------------------------


@pytest.mark.parametrize(
    ("facts", "observation"),
    [
        ({"age_years": 40, "platelet_count": 8}, "excluded"),
        ({"age_years": 40, "platelet_count": 29}, "excluded"),
        ({"age_years": 40, "platelet_count": 30}, "ranked"),
        ({"age_years": 8, "platelet_count": 8}, "ranked"),
        ({"age_years": 40, "platelet_count": 80, "risk_factors": ["active_bleeding"]}, "excluded"),
    ],
)
def test_adult_itp_observation_over_several_facts(
    client: TestClient, facts: dict[str, Any], observation: str
) -> None:
    body = score(client, "itp", **facts)
    assert ("observation" in ranked(body)) is (observation == "ranked")


def test_itp_platelet_count_unknown_asks_for_it(client: TestClient) -> None:
    body = score(client, "itp", age_years=40)
    assert "needs_check_platelet_count" in cautions(body, "observation")
    assert "platelet_count" in body["unknown"]


@pytest.mark.parametrize(
    ("factor", "ocrelizumab", "codes"),
    [
        ("hbv_active", "excluded", {"hbv_active"}),
        ("hbv_resolved", "ranked", {"hbv_reactivation"}),
        ("hbv_positive", "ranked", {"hbv_reactivation", "needs_check_hbv_status"}),
    ],
)
def test_hepatitis_b_active_resolved_or_not_known_which(
    client: TestClient, factor: str, ocrelizumab: str, codes: set[str]
) -> None:
    body = score(client, "ms", age_years=30, risk_factors=[factor])
    if ocrelizumab == "excluded":
        assert codes <= excluded(body)["ocrelizumab"]
    else:
        assert codes <= cautions(body, "ocrelizumab")


def test_mg_antibody_status_limits_the_labelled_biologics(client: TestClient) -> None:
    history = [given("corticosteroids", "inadequate_response")]
    musk = score(client, "mg", age_years=40, antibody_status="musk", prior_treatments=history)
    assert "antibody_label_limit" in excluded(musk)["efgartigimod"]
    assert "antibody_label_limit" in excluded(musk)["eculizumab"]
    unknown = score(client, "mg", age_years=40, prior_treatments=history)
    assert "needs_check_antibody_status" in cautions(unknown, "efgartigimod")


def test_an_unknown_cost_under_a_budget_is_unchecked_never_silently_within(
    client: TestClient,
) -> None:
    response = client.post(
        "/v1/score",
        json={"condition": "cidp", "preferences": {"max_annual_cost": 1_000_000}},
    )
    body = response.json()
    for option in body["ranked"]:
        codes = {c["code"] for c in option["cautions"]}
        if "cost_unknown" in codes:
            assert "budget_unchecked" in codes
    assert any("budget_unchecked" in cautions(body, o["therapy_id"]) for o in body["ranked"])


# --- Outcome figures and later[] wherever results appear ---------------------------------


def test_outcome_figures_carry_stable_ids_and_whole_numbers(client: TestClient) -> None:
    body = score(client, "cidp", age_years=52, prior_treatments=[])
    ivig = next(o for o in body["ranked"] if o["therapy_id"] == "ivig")
    figure = next(f for f in ivig["outcome_figures"] if f["id"] == "ivig-cidp-1")
    assert figure["events"] == 54
    assert figure["per"] == 100
    assert figure["comparator"] == {"label": "placebo", "events": 21}
    assert figure["time_frame"] == "24 weeks"
    assert figure["source"]
    assert len(ivig["outcome_figures"]) == len(ivig["outcomes"])
    for option in body["ranked"]:
        for f in option["outcome_figures"]:
            assert f["per"] in (100, 1000)
            assert 0 <= f["events"] <= f["per"]


def test_batch_lines_carry_later(client: TestClient) -> None:
    case = {"condition": "cidp", "patient": {"prior_treatments": []}}
    response = client.post("/v1/score/batch", json={"cases": [case]})
    (line,) = [json.loads(text) for text in response.text.splitlines()]
    assert {w["therapy_id"] for w in line["result"]["later"]} >= {"scig", "plasma-exchange"}
    assert line["result"] == client.post("/v1/score", json=case).json()


def test_the_same_request_gives_the_same_bytes(client: TestClient) -> None:
    body = {"condition": "itp", "patient": {"prior_treatments": [], "phase": "chronic"}}
    assert (
        client.post("/v1/score", json=body).content == client.post("/v1/score", json=body).content
    )
