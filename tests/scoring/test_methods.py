"""Weighted sum and TOPSIS: published example, pymcdm cross-check, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymcdm.methods import TOPSIS
from pymcdm.normalizations import vector_normalization

from scoring.methods import topsis, vector_normalise, weighted_sum

PROPERTY = settings(derandomize=True, max_examples=60, deadline=None, database=None)


def test_topsis_matches_tzeng_and_huang_2011() -> None:
    """Tzeng & Huang (2011), Multiple Attribute Decision Making, CRC Press: all benefit criteria,
    vector normalisation (scikit-criteria test_TOPSIS_tzeng2011multiple)."""
    matrix = [[5, 8, 4], [7, 6, 8], [8, 8, 6], [7, 4, 6]]
    closeness = topsis(matrix, [0.3, 0.4, 0.3])
    assert closeness == pytest.approx([0.5037, 0.6581, 0.7482, 0.3340], abs=1e-4)
    order = sorted(range(4), key=lambda i: -closeness[i])
    ranks = [order.index(i) + 1 for i in range(4)]
    assert ranks == [3, 2, 1, 4]


def _pymcdm_topsis(matrix: list[list[float]], weights: list[float]) -> list[float]:
    method = TOPSIS(normalization_function=vector_normalization)
    types = np.ones(len(weights))
    # validation=False: pymcdm warns about dominant alternatives, which are legitimate here.
    # errstate: identical options make pymcdm divide 0 by 0 (NaN), compared explicitly below.
    with np.errstate(invalid="ignore"):
        result = method(np.array(matrix), np.array(weights), types, validation=False)
    return [float(x) for x in result]


@st.composite
def decision_problems(draw: st.DrawFn) -> tuple[list[list[float]], list[float]]:
    options = draw(st.integers(min_value=2, max_value=7))
    criteria = draw(st.integers(min_value=1, max_value=6))
    value = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)
    matrix = draw(
        st.lists(
            st.lists(value, min_size=criteria, max_size=criteria),
            min_size=options,
            max_size=options,
        )
    )
    raw = draw(
        st.lists(st.floats(min_value=0.01, max_value=10.0), min_size=criteria, max_size=criteria)
    )
    weights = [w / sum(raw) for w in raw]
    return matrix, weights


@PROPERTY
@given(decision_problems())
def test_topsis_agrees_with_pymcdm_vector_topsis(
    problem: tuple[list[list[float]], list[float]],
) -> None:
    matrix, weights = problem
    ours = topsis(matrix, weights)
    theirs = _pymcdm_topsis(matrix, weights)
    for mine, reference in zip(ours, theirs, strict=True):
        if np.isnan(reference):  # pymcdm's 0/0 when all options coincide; we define it as 1
            assert mine == 1.0
        else:
            assert mine == pytest.approx(reference, abs=1e-9)


def test_topsis_of_one_option_is_one() -> None:
    assert topsis([[0.3, 0.7]], [0.5, 0.5]) == [1.0]


def test_topsis_of_identical_options_is_one_each() -> None:
    assert topsis([[0.3, 0.7], [0.3, 0.7]], [0.5, 0.5]) == [1.0, 1.0]


def test_a_zero_column_contributes_nothing() -> None:
    with_zero = topsis([[0.2, 0.0], [0.8, 0.0], [0.5, 0.0]], [0.5, 0.5])
    without = topsis([[0.2], [0.8], [0.5]], [1.0])
    assert with_zero == pytest.approx(without)
    assert vector_normalise([[0.0], [0.0]]) == [[0.0], [0.0]]


def test_empty_inputs() -> None:
    assert topsis([], [0.5, 0.5]) == []
    assert weighted_sum([], [1.0]) == []


def test_topsis_can_reorder_options_when_one_is_added() -> None:
    """Documented rank reversal: the ideal points move with the set, so may the order."""
    a, b = [0.9, 0.2], [0.4, 0.6]
    weights = [0.5, 0.5]
    before = topsis([a, b], weights)
    after = topsis([a, b, [0.0, 1.0]], weights)
    assert (before[0] > before[1]) != (after[0] > after[1])


def test_weighted_sum_is_the_dot_product() -> None:
    assert weighted_sum([[1.0, 0.0], [0.5, 0.5], [0.2, 0.9]], [0.3, 0.7]) == pytest.approx(
        [0.3, 0.5, 0.69]
    )


@PROPERTY
@given(decision_problems())
def test_weighted_sum_of_one_option_ignores_the_others(
    problem: tuple[list[list[float]], list[float]],
) -> None:
    matrix, weights = problem
    together = weighted_sum(matrix, weights)
    alone = [weighted_sum([row], weights)[0] for row in matrix]
    assert together == alone
