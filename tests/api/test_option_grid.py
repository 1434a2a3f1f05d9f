"""POST /v1/option-grid: the shape, citations and plain language for every condition."""

from __future__ import annotations

import importlib.util
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.routers.score import score_one
from api.routers.sdm import options_of
from api.schemas.score import ScoreRequest
from api.schemas.sdm import OptionGrid
from api.scoring_io import encode
from api.sdm.grid import BASIS_WORDS, QUESTIONS, _money, brief, option_grid
from db.catalog_file import SEED_CATALOG, load_catalog_file
from scoring.model import CostBasis

CONDITIONS = [
    "pi",
    "mmn",
    "cidp",
    "itp",
    "ms",
    "ms-relapse",
    "ms-progressive",
    "gbs",
    "mg",
    "mg-exacerbation",
]
NOT_IN_CATALOG = re.compile(
    r"(not recorded|no figure|none listed|no cost figure|not described)", re.IGNORECASE
)


def _request(condition: str) -> dict[str, Any]:
    return {"condition": condition, "patient": {"age_years": 45}, "preferences": {"region": "US"}}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_option_answers_every_question_in_plain_cited_words(
    client: TestClient, condition: str
) -> None:
    score = client.post("/v1/score", json=_request(condition)).json()
    response = client.post("/v1/option-grid", json=_request(condition))
    assert response.status_code == 200, response.text
    grid = response.json()
    assert OptionGrid.model_validate(grid).model_dump(mode="json") == grid
    assert grid["catalog_version"] == score["catalog_version"]
    assert grid["condition"]["id"] == condition
    ranked = [o["therapy_id"] for o in score["ranked"]]
    assert [o["therapy_id"] for o in grid["options"]] == ranked
    assert [r["question"] for r in grid["rows"]] == [q for _, q in QUESTIONS]
    known_sources = {s["id"] for s in client.get("/v1/sources").json()["items"]}
    for row in grid["rows"]:
        assert [c["therapy_id"] for c in row["cells"]] == ranked
        for cell in row["cells"]:
            text = cell["text"]
            assert 0 < len(text.split()) <= 40, (row["question"], text)
            # Readability: short sentences, no unexplained jargon markers from curator notes.
            assert all(len(s.split()) <= 40 for s in _sentences(text))
            assert "[K]" not in text
            assert set(cell["sources"]) <= known_sources
            if not NOT_IN_CATALOG.search(text):
                assert cell["sources"], (row["question"], cell)


def test_observation_is_a_column_where_the_catalog_offers_it(client: TestClient) -> None:
    request = {
        "condition": "itp",
        "patient": {"age_years": 8, "platelet_count": 40},
        "preferences": {"region": "US"},
    }
    ranked = [o["therapy_id"] for o in client.post("/v1/score", json=request).json()["ranked"]]
    grid = client.post("/v1/option-grid", json=request).json()
    assert "observation" in ranked
    assert "observation" in [o["therapy_id"] for o in grid["options"]]
    without = next(r for r in grid["rows"] if r["id"] == "without")
    cell = next(c for c in without["cells"] if c["therapy_id"] == "observation")
    assert "no new treatment" in cell["text"]


def test_the_same_request_gives_the_same_bytes(client: TestClient) -> None:
    first = client.post("/v1/option-grid", json=_request("cidp"))
    second = client.post("/v1/option-grid", json=_request("cidp"))
    assert first.content == second.content


def test_bad_requests_are_problems(client: TestClient) -> None:
    unknown = client.post("/v1/option-grid", json=_request("nope"))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    invalid = client.post("/v1/option-grid", json={"condition": "cidp", "weights": {"x": 1}})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("condition", CONDITIONS)
def test_the_kept_cells_give_the_grid_built_for_each_request(
    client: TestClient, condition: str
) -> None:
    """The catalog-only cells are kept per catalog snapshot and shared by every patient's grid:
    each answer is the grid built afresh for its request, whichever patient came first."""
    state = client.app.state  # type: ignore[attr-defined]
    patients: list[dict[str, Any]] = [
        {"age_years": 8, "weight_kg": 25, "prior_treatments": []},
        {"age_years": 70, "weight_kg": 90, "egfr": 25, "risk_factors": ["heart_failure"]},
        {},
    ]
    for patient in patients:
        for region in ("US", "NO"):
            request = {
                "condition": condition,
                "patient": patient,
                "preferences": {"region": region},
            }
            answer = client.post("/v1/option-grid", json=request)
            assert answer.status_code == 200, answer.text
            body = ScoreRequest.model_validate(request)
            snapshot = state.catalog_cache.current
            result = score_one(body, snapshot)
            options = options_of(result, state.catalog_texts, snapshot=snapshot, body=body)
            assert answer.content == encode(option_grid(result, options, region=region))


def test_a_curator_write_shows_in_the_next_grid(client: TestClient, curator_key: str) -> None:
    """A write makes a new catalog version and snapshot, so the grid right after it says the
    new words, though the cells of the version before were kept."""
    request = _request("cidp")
    before = client.post("/v1/option-grid", json=request).json()
    ivig = next(c for c in _row(before, "what") if c["therapy_id"] == "ivig")
    assert ivig["text"] != "An updated plain-language summary."
    response = client.patch(
        "/v1/therapies/ivig",
        json={"summary": "An updated plain-language summary."},
        headers={
            "X-API-Key": curator_key,
            "If-Match": client.get("/v1/therapies/ivig").headers["etag"],
        },
    )
    assert response.status_code == 200, response.text
    after = client.post("/v1/option-grid", json=request).json()
    assert after["catalog_version"] > before["catalog_version"]
    ivig = next(c for c in _row(after, "what") if c["therapy_id"] == "ivig")
    assert ivig["text"] == "An updated plain-language summary."
    assert (
        ivig["sources"]
        == next(c for c in _row(before, "what") if c["therapy_id"] == "ivig")["sources"]
    )
    assert _row(after, "serious") == _row(before, "serious")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("One. Two three. Four five six.", 3, "One. Two three."),
        ("A very long first sentence here.", 3, "A very…"),
        ("", 5, ""),
    ],
)
def test_brief_keeps_whole_sentences(text: str, limit: int, expected: str) -> None:
    assert brief(text, limit) == expected


def _readability() -> Any:
    """The catalog's own readability helper (tests/db/readability.py), loaded by path."""
    path = Path(__file__).resolve().parent.parent / "db" / "readability.py"
    spec = importlib.util.spec_from_file_location("tada_readability", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_grid_reads_at_the_option_grid_level(client: TestClient) -> None:
    """Option Grids aim at a reading age of 12 or under: the median Flesch-Kincaid grade of the
    cells stays at or below 8 (names count as one plain word, as in the catalog's own test)."""
    readability = _readability()
    grade, names = readability.grade, readability.names
    catalog = load_catalog_file(SEED_CATALOG)
    name_list = names(catalog)
    grades: dict[str, list[float]] = {}
    for condition in CONDITIONS:
        grid = client.post("/v1/option-grid", json=_request(condition)).json()
        for row in grid["rows"]:
            for cell in row["cells"]:
                grades.setdefault(row["id"], []).append(grade(cell["text"], name_list))
    every = [g for row in grades.values() for g in row]
    assert statistics.median(every) <= 8
    for row_id in ("often", "onset", "chance", "cost", "without"):  # sentences TADA writes
        assert statistics.median(grades[row_id]) <= 8, row_id


def test_a_catalog_without_a_recorded_release_still_gets_its_grid(
    client: TestClient, database_url: str
) -> None:
    """A database migrated with its catalog in it, served before any release was recorded."""
    from sqlalchemy import text

    from db.session import make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM release_entries"))
            connection.execute(text("DELETE FROM catalog_releases"))
    finally:
        engine.dispose()
    response = client.post("/v1/option-grid", json=_request("cidp"))
    assert response.status_code == 200, response.text
    assert response.json()["rows"][0]["cells"][0]["sources"]


def test_every_cost_basis_reads_in_words() -> None:
    """A basis added to the model without words would otherwise print as `per_gram`."""
    assert set(BASIS_WORDS) == {basis.value for basis in CostBasis}
    assert all("_" not in words for words in BASIS_WORDS.values())


@pytest.mark.parametrize("condition", CONDITIONS)
def test_cost_cells_say_the_basis_and_the_amount_in_words(
    client: TestClient, condition: str
) -> None:
    grid = client.post("/v1/option-grid", json=_request(condition)).json()
    cost_row = next(r for r in grid["rows"] if "cost" in r["question"].lower())
    for cell in cost_row["cells"]:
        assert not re.search(r"\bper_|one_off\b", cell["text"]), cell["text"]
        assert "About 0 " not in cell["text"], cell["text"]


@pytest.mark.parametrize(
    ("amount", "words"), [(151, "151"), (19026.4, "19,026"), (0.45, "0.45"), (12.5, "12.5")]
)
def test_money_keeps_small_prices_readable(amount: float, words: str) -> None:
    assert _money(amount) == words


def _row(grid: dict[str, Any], row_id: str) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = next(r for r in grid["rows"] if r["id"] == row_id)["cells"]
    return cells


@pytest.mark.parametrize("condition", CONDITIONS)
def test_how_long_is_the_sourced_course_or_not_recorded_for_every_option(
    client: TestClient, condition: str
) -> None:
    """Every option's "How often, and for how long?" cell ends with how long it lasts: the
    indication's course in its words, citing its source, or that the catalog has none."""
    catalog = load_catalog_file(SEED_CATALOG)
    courses = {(i.therapy, i.condition): i.course for i in catalog.indications}
    grid = client.post("/v1/option-grid", json=_request(condition)).json()
    cells = _row(grid, "often")
    assert cells
    for cell in cells:
        course = courses[(cell["therapy_id"], condition)]
        if course is None:
            assert cell["text"].endswith("How long: not recorded in the catalog."), cell
        else:
            said = course.text.rstrip(".")
            assert cell["text"].lower().endswith(f"how long: {said.lower()}."), cell
            assert course.source in cell["sources"], cell
    sourced = [c for c in cells if "not recorded" not in c["text"]]
    assert all(c["sources"] for c in sourced)


def test_a_one_time_procedure_reads_as_done_once_not_as_sessions_a_year(
    client: TestClient,
) -> None:
    grid = client.post("/v1/option-grid", json=_request("mg")).json()
    thymectomy = next(c for c in _row(grid, "often") if c["therapy_id"] == "thymectomy")
    assert "session" not in thymectomy["text"]
    assert thymectomy["text"].startswith("Time in care: about 4 days.")


@pytest.mark.parametrize("condition", CONDITIONS)
def test_a_stay_of_a_day_or_more_reads_as_time_in_care_for_every_option(
    client: TestClient, condition: str
) -> None:
    """A "session" of 24 hours or more is a stay in care (a transplant, an operation), whether or
    not its course is recorded: never "sessions a year" or "courses a year"."""
    catalog = load_catalog_file(SEED_CATALOG)
    therapies = {t.id: t for t in catalog.therapies}
    indications = {(i.therapy, i.condition): i for i in catalog.indications}
    grid = client.post("/v1/option-grid", json=_request(condition)).json()
    stays = 0
    for cell in _row(grid, "often"):
        therapy = therapies[cell["therapy_id"]]
        indication = indications[(therapy.id, condition)]
        hours = indication.hours_per_session
        if hours is None:
            hours = therapy.administration.hours_per_session
        if hours is not None and hours >= 24:
            stays += 1
            assert cell["text"].startswith("Time in care: about "), cell
            assert "session" not in cell["text"], cell
            assert "a year" not in cell["text"], cell
        else:
            assert not cell["text"].startswith("Time in care"), cell
    if condition in {"cidp", "ms", "mg"}:  # HSCT or thymectomy are ranked there
        assert stays, grid


@pytest.mark.parametrize("condition", CONDITIONS)
def test_medicines_by_mouth_never_read_as_sessions(client: TestClient, condition: str) -> None:
    """A tablet taken once a day is a dose by mouth: no "30 sessions a month" or "a session"
    price, whatever the row."""
    oral = {t.id for t in load_catalog_file(SEED_CATALOG).therapies if t.route == "oral"}
    grid = client.post("/v1/option-grid", json=_request(condition)).json()
    for row in grid["rows"]:
        for cell in row["cells"]:
            if cell["therapy_id"] in oral:
                assert "session" not in cell["text"].lower(), (row["id"], cell)
    for cell in _row(grid, "often"):
        if cell["therapy_id"] in oral:
            assert cell["text"].startswith("By mouth"), cell


def test_a_daily_tablet_reads_as_once_a_day_and_costs_a_dose(client: TestClient) -> None:
    grid = client.post("/v1/option-grid", json=_request("itp")).json()
    often = next(c for c in _row(grid, "often") if c["therapy_id"] == "corticosteroids")
    cost = next(c for c in _row(grid, "cost") if c["therapy_id"] == "corticosteroids")
    assert often["text"].startswith("By mouth, once a day.")
    assert cost["text"].startswith("About 0.3 USD a dose;"), cost


@pytest.mark.parametrize("condition", CONDITIONS)
def test_a_price_a_session_month_or_course_also_reads_the_engines_yearly_cost(
    client: TestClient, condition: str
) -> None:
    """Every option priced a session, a month or a course reads the yearly figure the cost
    criterion explains ("About 32,300 USD a year: 3,243 USD a session x ..."), so options are
    compared a year against a year; a one-off or yearly price reads alone."""
    explained = {
        o["therapy_id"]: o["criteria"]["cost"]["explanation"]
        for o in client.post("/v1/score", json=_request(condition)).json()["ranked"]
    }
    counted = 0
    for cell in _row(client.post("/v1/option-grid", json=_request(condition)).json(), "cost"):
        yearly, _, counting = explained.get(cell["therapy_id"], "").partition(" a year: ")
        if any(f" {per} x " in counting for per in ("a session", "a dose", "a month", "a course")):
            counted += 1
            expected = yearly.replace("About", "about", 1)
            assert f"; {expected} a year (" in cell["text"], (cell, yearly)
        else:
            assert "; about" not in cell["text"], cell
    if condition in {"cidp", "mg", "ms"}:
        assert counted, explained


WEIGHT_PRICED = ["pi", "mmn", "cidp", "itp", "gbs", "mg-exacerbation"]


@pytest.mark.parametrize("condition", WEIGHT_PRICED)
def test_a_given_weight_gives_the_yearly_cost_the_engine_explains(
    client: TestClient, condition: str
) -> None:
    """With the weight, a price per gram becomes the patient's yearly cost: the very figure of
    the cost criterion's explanation; without it, the unit price and that it follows weight."""
    weighed = {**_request(condition), "patient": {"age_years": 45, "weight_kg": 80}}
    explained = {
        o["therapy_id"]: o["criteria"]["cost"]["explanation"]
        for o in client.post("/v1/score", json=weighed).json()["ranked"]
    }
    by_weight = {t: e for t, e in explained.items() if " kg x " in e}
    assert by_weight, explained
    with_weight = client.post("/v1/option-grid", json=weighed).json()
    for cell in _row(with_weight, "cost"):
        if cell["therapy_id"] in by_weight:
            figure = by_weight[cell["therapy_id"]].split(":")[0]  # "About 202,944 USD a year"
            assert cell["text"].startswith(f"{figure} for your weight"), (cell, figure)
            assert cell["sources"]
    without_weight = client.post("/v1/option-grid", json=_request(condition)).json()
    for cell in _row(without_weight, "cost"):
        if cell["therapy_id"] in by_weight:
            assert "per gram of the dose" in cell["text"], cell
            assert "depends on body weight" in cell["text"], cell
            assert cell["sources"]
