"""How stable the first-ranked option is when one weight moves (one-way sensitivity analysis).

For each criterion k, its normalised weight is set to t in [0, 1] and the other weights are
rescaled in proportion so that they sum to 1 - t (their ratios, i.e. the patient's other
priorities, stay as stated). The result is the interval [lower, upper] of t around the current
weight within which the option ranked first stays first; a `None` bound means it stays first
all the way to 0 (lower) or 1 (upper). See docs/decisions/0004-stability.md.

- Weighted sum: every score is linear in t, so each bound is an exact crossing point.
- TOPSIS: closeness is not linear in t; the bounds are found numerically: walk a fixed grid
  (step `GRID_STEP`) outwards from the current weight to the first point where another option
  leads, then bisect to `TOLERANCE`. Deterministic; a change narrower than the grid step can be
  missed.

"Stays first" includes a tie at the bound itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from scoring.methods import Matrix, vector_normalise
from scoring.model import CRITERIA, Method, Stability, WeightRange
from scoring.precision import fixed, fixed_or_none

GRID_STEP = 0.01
TOLERANCE = 1e-6
_FLAT = 1e-12  # slopes below this are float noise, not a real change


def moved_weights(weights: Sequence[float], k: int, t: float) -> list[float]:
    """Weights with weight k set to t and the others rescaled in proportion to sum to 1 - t.

    Edge case: when every other weight is 0 there are no proportions to keep; the remaining
    1 - t is then shared equally among the other criteria.
    """
    rest = sum(w for j, w in enumerate(weights) if j != k)
    others = len(weights) - 1
    moved: list[float] = []
    for j, w in enumerate(weights):
        if j == k:
            moved.append(t)
        elif rest > 0:
            moved.append(w * (1.0 - t) / rest)
        else:
            moved.append((1.0 - t) / others)
    return moved


def weighted_sum_bounds(
    matrix: Matrix, scores: Sequence[float], weights: Sequence[float]
) -> list[tuple[float | None, float | None]]:
    """The (lower, upper) bounds of every criterion's weight under the weighted sum, in one
    pass over the options per criterion (the engine calls this once per case, so it is kept
    to plain float arithmetic; `matrix` and `scores` are in rank order).

    score_i(t) = t * a_i + (1 - t) * b_i: a_i is the value on k, b_i the score the other
    criteria give at t = 0, i.e. (score_i - w_k * a_i) / (1 - w_k) when the others weigh
    something, else their plain mean (see `moved_weights`).
    """
    top = matrix[0]
    top_score = scores[0]
    others = len(top) - 1
    # Each rival's row with its score, paired once rather than indexed per criterion: with
    # the comparison below, this halved the function's time (12 -> 6 µs for four options).
    rivals = list(zip(matrix[1:], scores[1:], strict=True))
    bounds: list[tuple[float | None, float | None]] = []
    for k, t0 in enumerate(weights):
        rest = 1.0 - t0
        proportional = rest > _FLAT
        a0 = top[k]
        b0 = (top_score - t0 * a0) / rest if proportional else (sum(top) - a0) / others
        lower: float | None = None
        upper: float | None = None
        for row, score in rivals:
            a_i = row[k]
            b_i = (score - t0 * a_i) / rest if proportional else (sum(row) - a_i) / others
            # d(t) = score_top(t) - score_i(t) = c0 + c1 * t; the top stays ahead of i while
            # d >= 0.
            c0 = b0 - b_i
            c1 = (a0 - a_i) - c0
            if -_FLAT < c1 < _FLAT:
                continue
            crossing = -c0 / c1
            if c1 > 0:  # i leads below the crossing
                if crossing > t0:
                    crossing = t0
                if crossing > 0 and (lower is None or crossing > lower):
                    lower = crossing
            else:  # i leads above the crossing
                if crossing < t0:
                    crossing = t0
                if crossing < 1 and (upper is None or crossing < upper):
                    upper = crossing
        bounds.append((lower, upper))
    return bounds


def _search(stays_first: Callable[[float], bool], start: float, end: float) -> float | None:
    """The point between `start` (where the top is first) and `end` at which it stops being
    first, walking a fixed grid from `start`; `None` if it stays first up to `end`."""
    step = GRID_STEP if end > start else -GRID_STEP
    good = start
    n = 1
    while True:
        probe = round(start + n * step, 12)
        if (step > 0 and probe >= end) or (step < 0 and probe <= end):
            probe = end
        if not stays_first(probe):
            bad = probe
            while abs(bad - good) > TOLERANCE:
                middle = (good + bad) / 2
                if stays_first(middle):
                    good = middle
                else:
                    bad = middle
            return (good + bad) / 2
        if probe == end:
            return None
        good = probe
        n += 1


def _topsis_range(
    matrix: Matrix, weights: Sequence[float], k: int
) -> tuple[float | None, float | None]:
    # The normalised matrix does not depend on the weights, and with w_j >= 0 the ideal and
    # anti-ideal of a weighted column are w_j x its max and min: computed once, not per probe.
    columns = list(zip(*vector_normalise(matrix), strict=True))
    highs = [max(column) for column in columns]
    lows = [min(column) for column in columns]
    options = range(len(matrix))

    def stays_first(t: float) -> bool:
        moved = moved_weights(weights, k, t)
        d_plus = [0.0] * len(matrix)
        d_minus = [0.0] * len(matrix)
        for column, w, high, low in zip(columns, moved, highs, lows, strict=True):
            if w == 0:
                continue
            for i in options:
                value = w * column[i]
                d_plus[i] += (value - w * high) ** 2
                d_minus[i] += (value - w * low) ** 2
        closeness = []
        for plus, minus in zip(d_plus, d_minus, strict=True):
            plus, minus = math.sqrt(plus), math.sqrt(minus)
            closeness.append(minus / (plus + minus) if plus + minus > 0 else 1.0)
        return closeness[0] >= max(closeness[1:])

    t0 = weights[k]
    lower = _search(stays_first, t0, 0.0) if t0 > 0 else None
    upper = _search(stays_first, t0, 1.0) if t0 < 1 else None
    return lower, upper


def stability(
    *,
    therapy_ids: Sequence[str],
    matrix: Matrix,
    raw_scores: Sequence[float],
    scores: Sequence[float],
    weights: Sequence[float],
    method: Method,
) -> Stability:
    """One-way weight sensitivity of the first-ranked option.

    Inputs: the ranked options in rank order (`therapy_ids`, their value rows in `matrix`,
    their unrounded `raw_scores` and rounded `scores`), the normalised weights in `CRITERIA`
    order, and the method.

    `margin` is score(rank 1) - score(rank 2): None with fewer than two options. With fewer
    than two options nothing can overtake the first, so every bound is None.
    """
    top = therapy_ids[0] if therapy_ids else None
    margin = scores[0] - scores[1] if len(scores) >= 2 else None
    ranges: list[WeightRange] = []
    linear = (
        weighted_sum_bounds(matrix, raw_scores, weights)
        if len(matrix) >= 2 and method is Method.WEIGHTED_SUM
        else None
    )
    for k, criterion in enumerate(CRITERIA):
        lower: float | None = None
        upper: float | None = None
        if linear is not None:
            lower, upper = linear[k]
        elif len(matrix) >= 2:
            lower, upper = _topsis_range(matrix, weights, k)
        ranges.append(
            WeightRange(
                criterion=criterion,
                weight=fixed(weights[k]),
                lower=fixed_or_none(lower),
                upper=fixed_or_none(upper),
            )
        )
    return Stability(top_therapy_id=top, margin=fixed_or_none(margin), weight_ranges=tuple(ranges))
