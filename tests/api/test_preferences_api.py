"""GET /v1/preferences/questions and POST /v1/preferences/elicit: the HTTP contract."""

from __future__ import annotations

from fastapi.testclient import TestClient

CRITERIA = ["efficacy", "safety", "convenience", "cost", "availability", "onset"]


def test_questions_name_both_criteria_in_plain_words(client: TestClient) -> None:
    response = client.get("/v1/preferences/questions")
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 15
    first = items[0]
    assert first["id"] == "efficacy-safety"
    assert first["a"] == {"criterion": "efficacy", "label": "how well the treatment works"}
    assert first["b"]["criterion"] == "safety"
    assert first["a"]["label"] in first["text"]
    assert first["b"]["label"] in first["text"]
    assert [s["value"] for s in response.json()["strengths"]] == [1, 3, 5, 7, 9]


def test_consistent_answers_give_weights_with_the_largest_ten(client: TestClient) -> None:
    answers = [
        {"question_id": "efficacy-safety", "prefer": "a", "strength": 3},
        {"question_id": "efficacy-convenience", "prefer": "a", "strength": 3},
        {"question_id": "efficacy-cost", "prefer": "a", "strength": 9},
        {"question_id": "efficacy-availability", "prefer": "a", "strength": 9},
        {"question_id": "efficacy-onset", "prefer": "equal"},
    ]
    response = client.post("/v1/preferences/elicit", json={"answers": answers})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body["weights"]) == CRITERIA
    assert body["weights"] == {
        "efficacy": 10.0,
        "safety": 3.33,
        "convenience": 3.33,
        "cost": 1.11,
        "availability": 1.11,
        "onset": 10.0,
    }
    assert body["consistency"]["ratio"] == 0.0
    assert body["consistency"]["acceptable"] is True
    assert body["consistency"]["conflicts"] == []
    assert body["complete"] is False
    assert "Saaty" in body["method"]


def test_inconsistent_answers_are_explained_with_the_conflicting_pairs(
    client: TestClient,
) -> None:
    answers = [
        {"question_id": "efficacy-safety", "prefer": "a", "strength": 7},
        {"question_id": "safety-convenience", "prefer": "a", "strength": 7},
        {"question_id": "efficacy-convenience", "prefer": "b", "strength": 7},
        {"question_id": "efficacy-cost", "prefer": "equal"},
        {"question_id": "efficacy-availability", "prefer": "equal"},
        {"question_id": "efficacy-onset", "prefer": "equal"},
    ]
    response = client.post("/v1/preferences/elicit", json={"answers": answers})
    assert response.status_code == 200
    consistency = response.json()["consistency"]
    assert consistency["acceptable"] is False
    assert consistency["ratio"] > 0.1
    assert sorted(map(sorted, consistency["conflicts"])) == [
        ["convenience", "efficacy"],
        ["convenience", "safety"],
        ["efficacy", "safety"],
    ]
    assert consistency["cycles"] == [["efficacy", "safety", "convenience"]]
    assert "circle" in consistency["explanation"]
    assert max(response.json()["weights"].values()) == 10.0


def test_answers_that_leave_a_criterion_out_are_a_problem(client: TestClient) -> None:
    answers = [{"question_id": "efficacy-safety", "prefer": "a", "strength": 3}]
    response = client.post("/v1/preferences/elicit", json={"answers": answers})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["unlinked"] == ["convenience", "cost", "availability", "onset"]
    assert problem["errors"][0]["path"] == "body/answers"


def test_a_strength_outside_one_to_nine_is_a_validation_error(client: TestClient) -> None:
    answers = [{"question_id": "efficacy-safety", "prefer": "a", "strength": 10}]
    response = client.post("/v1/preferences/elicit", json={"answers": answers})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "body/answers/0/strength"


def test_an_unknown_question_is_a_problem(client: TestClient) -> None:
    answers = [{"question_id": "efficacy-happiness", "prefer": "a", "strength": 3}]
    response = client.post("/v1/preferences/elicit", json={"answers": answers})
    assert response.status_code == 422
    assert "unknown question" in response.json()["detail"]
