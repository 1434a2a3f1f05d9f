"""One-way weight sensitivity: exact for the weighted sum, searched for TOPSIS."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.methods import topsis, weighted_sum
from scoring.model import CRITERIA, Method
from scoring.stability import _search, moved_weights, stability

PROPERTY = settings(derandomize=True, max_examples=40, deadline=None, database=None)
EQUAL = [1 / 6] * 6


def ranked(
    matrix: list[list[float]], weights: list[float], method: Method
) -> tuple[list[list[float]], list[float]]:
    scores = (
        weighted_sum(matrix, weights) if method is Method.WEIGHTED_SUM else topsis(matrix, weights)
    )
    order = sorted(range(len(matrix)), key=lambda i: -scores[i])
    return [matrix[i] for i in order], [scores[i] for i in order]


def run(matrix: list[list[float]], weights: list[float], method: Method = Method.WEIGHTED_SUM):  # type: ignore[no-untyped-def]
    rows, scores = ranked(matrix, weights, method)
    return stability(
        therapy_ids=[f"t{i}" for i in range(len(rows))],
        matrix=rows,
        raw_scores=scores,
        scores=scores,
        weights=weights,
        method=method,
    )


def test_a_two_option_trade_off_has_the_exact_crossing() -> None:
    # A = (1, 0, ...), B = (0, 1, ...): A stays first while w_efficacy >= w_safety.
    a = [1.0, 0.0, 0.5, 0.5, 0.5, 0.5]
    b = [0.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    weights = [0.3, 0.1, 0.15, 0.15, 0.15, 0.15]
    result = run([b, a], weights)
    assert result.top_therapy_id == "t0"
    assert result.margin == pytest.approx(0.2)
    efficacy, safety = result.weight_ranges[0], result.weight_ranges[1]
    # Efficacy at t, safety at 0.1 * (1 - t) / 0.7: equal when t = 0.1 / 0.8 = 0.125.
    assert efficacy.lower == pytest.approx(0.125)
    assert efficacy.upper is None
    # Safety at t, efficacy at 0.3 * (1 - t) / 0.9: equal when t = 0.25.
    assert safety.upper == pytest.approx(0.25)
    assert safety.lower is None
    # Criteria where both options are equal cannot change the order on their own... until the
    # difference that remains vanishes at t = 1.
    assert all(r.lower is None and r.upper is None for r in result.weight_ranges[2:])


def test_fewer_than_two_options_have_no_margin_and_no_bounds() -> None:
    for matrix in ([], [[0.5] * 6]):
        result = run(matrix, EQUAL)
        assert result.margin is None
        assert len(result.weight_ranges) == len(CRITERIA)
        assert all(r.lower is None and r.upper is None for r in result.weight_ranges)
    assert run([], EQUAL).top_therapy_id is None


def test_moving_one_weight_keeps_the_others_proportions() -> None:
    moved = moved_weights([0.5, 0.3, 0.2], 0, 0.8)
    assert moved == pytest.approx([0.8, 0.12, 0.08])
    assert moved_weights([1.0, 0.0, 0.0], 0, 0.4) == pytest.approx([0.4, 0.3, 0.3])


matrices = st.integers(min_value=2, max_value=5).flatmap(
    lambda n: st.lists(
        st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=6, max_size=6),
        min_size=n,
        max_size=n,
    )
)
weight_vectors = (
    st.lists(st.integers(min_value=0, max_value=10), min_size=6, max_size=6)
    .filter(any)
    .map(lambda r: [x / sum(r) for x in r])
)


@PROPERTY
@given(matrices, weight_vectors)
def test_exact_weighted_sum_bounds_agree_with_a_numeric_search(
    matrix: list[list[float]], weights: list[float]
) -> None:
    rows, _ = ranked(matrix, weights, Method.WEIGHTED_SUM)
    result = run(matrix, weights)
    for k, weight_range in enumerate(result.weight_ranges):

        def stays_first(t: float, k: int = k) -> bool:
            scores = weighted_sum(rows, moved_weights(weights, k, t))
            return scores[0] >= max(scores[1:]) - 1e-12

        t0 = weights[k]
        lower = _search(stays_first, t0, 0.0) if t0 > 0 else None
        upper = _search(stays_first, t0, 1.0) if t0 < 1 else None
        for exact, searched in ((weight_range.lower, lower), (weight_range.upper, upper)):
            if exact is None or searched is None:
                # Only a crossing within a hair of 0 or 1 may be reported by one and not the other.
                other = exact if searched is None else searched
                assert other is None or min(other, 1.0 - other) < 1e-5
            else:
                assert exact == pytest.approx(searched, abs=2e-6)


@PROPERTY
@given(matrices, weight_vectors, st.sampled_from(list(Method)))
def test_the_interval_contains_the_current_weight(
    matrix: list[list[float]], weights: list[float], method: Method
) -> None:
    for weight_range in run(matrix, weights, method).weight_ranges:
        assert (
            (weight_range.lower or 0.0)
            <= weight_range.weight
            <= (1.0 if weight_range.upper is None else weight_range.upper)
        )


def test_topsis_bounds_mark_where_the_first_place_changes() -> None:
    a = [0.9, 0.2, 0.5, 0.5, 0.5, 0.5]
    b = [0.3, 0.8, 0.5, 0.5, 0.5, 0.5]
    c = [0.5, 0.5, 0.4, 0.4, 0.4, 0.4]
    rows, _ = ranked([a, b, c], EQUAL, Method.TOPSIS)
    result = run([a, b, c], EQUAL, Method.TOPSIS)
    for k, weight_range in enumerate(result.weight_ranges):
        for bound, outside in ((weight_range.lower, -1e-4), (weight_range.upper, 1e-4)):
            if bound is None:
                continue
            inside = topsis(rows, moved_weights(EQUAL, k, bound - outside))
            beyond = topsis(rows, moved_weights(EQUAL, k, bound + outside))
            assert inside[0] >= max(inside[1:])
            assert beyond[0] < max(beyond[1:])
    assert any(r.lower is not None or r.upper is not None for r in result.weight_ranges)
