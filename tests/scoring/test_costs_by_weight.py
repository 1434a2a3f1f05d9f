"""Costs that follow a weight-based dose (per gram / per mg prices), and which row prices a
therapy when the indication gives a dose."""

from __future__ import annotations

import pytest
from factories import cost, facts, indication, scales

from scoring.criteria import annual_cost, cost_needs_weight, is_weight_based
from scoring.facts import TherapyFacts, select_cost
from scoring.model import CostBasis


def per_gram_facts(dose: float | None, sessions: float | None = 1.2) -> TherapyFacts:
    return facts(
        indication_row=indication(dose_per_kg=dose, sessions_per_month=sessions),
        cost=cost(amount=151.0, basis=CostBasis.PER_GRAM),
    )


@pytest.mark.parametrize(
    ("weight", "expected"),
    [(5.5, 5.5 * 0.5 * 151 * 1.2 * 12), (70.0, 70 * 0.5 * 151 * 1.2 * 12), (0.0, 0.0)],
)
def test_per_gram_cost_is_weight_x_dose_x_price_x_sessions(weight: float, expected: float) -> None:
    annual = annual_cost(per_gram_facts(0.5), weight)
    assert annual is not None
    assert annual.amount == pytest.approx(expected)
    assert f"{weight:g} kg" in annual.explanation


@pytest.mark.parametrize(("weight", "dose", "sessions"), [(None, 0.5, 1.2), (70.0, None, 1.2)])
def test_per_gram_cost_is_unknown_without_weight_dose_or_frequency(
    weight: float | None, dose: float | None, sessions: float | None
) -> None:
    assert annual_cost(per_gram_facts(dose, sessions), weight) is None


def test_per_mg_prices_a_mg_per_kg_dose() -> None:
    row = facts(
        indication_row=indication(dose_per_kg=10.0, sessions_per_month=1.0),
        cost=cost(amount=2.0, basis=CostBasis.PER_MG),
    )
    annual = annual_cost(row, 60.0)
    assert annual is not None
    assert annual.amount == pytest.approx(60 * 10 * 2 * 12)
    assert "mg per kg" in annual.explanation


def test_unknown_weight_is_a_cited_caution_at_the_middle_value() -> None:
    row = per_gram_facts(0.5)
    assert is_weight_based(row)
    partial = cost_needs_weight(row, scales())
    assert partial.value == scales().unknown_value
    assert [c.code for c in partial.cautions] == ["cost_needs_weight"]
    assert partial.cautions[0].source == "src-cost"


def test_a_dose_prefers_the_weight_based_price_and_no_dose_skips_it() -> None:
    yearly = cost(amount=60_000.0, condition_id="cidp")
    per_gram = cost(amount=151.0, basis=CostBasis.PER_GRAM)
    rows = (yearly, per_gram)
    assert select_cost(rows, condition_id="cidp", dose_per_kg=1.0) == per_gram
    assert select_cost(rows, condition_id="cidp") == yearly
    assert select_cost((per_gram,), condition_id="cidp") is None
