"""Importance ratings to weights: defaults, normalisation, invalid input."""

from __future__ import annotations

import math

import pytest

from scoring.errors import InvalidWeights, ScoringError
from scoring.model import CRITERIA, Criterion
from scoring.precision import apportion, fixed
from scoring.weights import DEFAULT_RATINGS, normalise


def test_the_default_is_equal_ratings_for_every_criterion() -> None:
    assert dict(DEFAULT_RATINGS) == dict.fromkeys(CRITERIA, 5.0)


def test_equal_ratings_give_equal_weights_that_sum_to_one() -> None:
    weights = normalise(DEFAULT_RATINGS)
    assert list(weights) == list(CRITERIA)
    assert math.fsum(weights.values()) == pytest.approx(1.0, abs=1e-12)
    assert all(w == pytest.approx(1 / 6, abs=1e-6) for w in weights.values())


def test_weights_are_proportional_to_ratings() -> None:
    ratings = dict.fromkeys(CRITERIA, 0.0) | {Criterion.EFFICACY: 10.0, Criterion.COST: 2.5}
    weights = normalise(ratings)
    assert weights[Criterion.EFFICACY] == 0.8
    assert weights[Criterion.COST] == 0.2
    assert weights[Criterion.SAFETY] == 0.0


def test_an_omitted_criterion_takes_its_default() -> None:
    assert normalise({Criterion.EFFICACY: 5.0}) == normalise(DEFAULT_RATINGS)


@pytest.mark.parametrize("bad", [-0.1, 10.5, float("nan"), float("inf"), True, "5"])
def test_ratings_must_be_finite_numbers_from_0_to_10(bad: object) -> None:
    with pytest.raises(InvalidWeights):
        normalise({Criterion.SAFETY: bad})  # type: ignore[dict-item]


def test_all_zero_ratings_are_refused() -> None:
    with pytest.raises(InvalidWeights, match="zero"):
        normalise(dict.fromkeys(CRITERIA, 0.0))


def test_an_unknown_criterion_is_refused() -> None:
    with pytest.raises(InvalidWeights, match="Unknown criteria"):
        normalise({"beauty": 3.0})  # type: ignore[dict-item]


def test_invalid_weights_is_a_scoring_error() -> None:
    assert issubclass(InvalidWeights, ScoringError)


def test_unhashable_ratings_are_checked_not_crashed() -> None:
    with pytest.raises(InvalidWeights):
        normalise({Criterion.SAFETY: [5]})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "shares",
    [[1 / 6] * 6, [1 / 3] * 3, [0.1234567, 0.8765433], [1.0, 0.0], [2 / 7, 5 / 7]],
)
def test_apportioned_shares_keep_six_decimals_and_sum_to_one(shares: list[float]) -> None:
    parts = apportion(shares)
    assert math.fsum(parts) == pytest.approx(1.0, abs=1e-12)
    assert all(fixed(p) == p for p in parts)
    assert all(abs(p - s) <= 1e-6 for p, s in zip(parts, shares, strict=True))


def test_fixed_turns_negative_zero_into_zero() -> None:
    assert str(fixed(-1e-9)) == "0.0"
