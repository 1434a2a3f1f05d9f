"""Aggregation methods: turn a matrix of partial values and a weight vector into scores.

`matrix[i][j]` is option i's value on criterion j, already "higher is better" and in [0, 1];
`weights[j]` sum to 1. See docs/decisions/0001-weighted-sum-and-topsis.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Matrix = Sequence[Sequence[float]]


def weighted_sum(matrix: Matrix, weights: Sequence[float]) -> list[float]:
    """Additive value model (MAVT), the ISPOR MCDA default: score_i = sum_j w_j x v_ij.

    Each option's score depends only on its own values, so adding or removing an option never
    changes another option's score or the order of the others.
    """
    return [math.fsum(w * v for w, v in zip(weights, row, strict=True)) for row in matrix]


def vector_normalise(matrix: Matrix) -> list[list[float]]:
    """Classical (Hwang & Yoon) vector normalisation: r_ij = x_ij / sqrt(sum_i x_ij^2).

    Edge case: a column of zeros has length 0; its normalised values are 0 (the criterion
    separates no options, so it contributes nothing to any distance).
    """
    if not matrix:
        return []
    columns = len(matrix[0])
    norms = [math.sqrt(math.fsum(row[j] * row[j] for row in matrix)) for j in range(columns)]
    return [[row[j] / norms[j] if norms[j] > 0 else 0.0 for j in range(columns)] for row in matrix]


def topsis_closeness(normalised: Matrix, weights: Sequence[float]) -> list[float]:
    """TOPSIS closeness on an already vector-normalised matrix (see `topsis`)."""
    if not normalised:
        return []
    weighted = [[w * r for w, r in zip(weights, row, strict=True)] for row in normalised]
    columns = range(len(weights))
    ideal = [max(row[j] for row in weighted) for j in columns]
    anti_ideal = [min(row[j] for row in weighted) for j in columns]
    closeness: list[float] = []
    for row in weighted:
        d_plus = math.sqrt(math.fsum((row[j] - ideal[j]) ** 2 for j in columns))
        d_minus = math.sqrt(math.fsum((row[j] - anti_ideal[j]) ** 2 for j in columns))
        total = d_plus + d_minus
        closeness.append(d_minus / total if total > 0 else 1.0)
    return closeness


def topsis(matrix: Matrix, weights: Sequence[float]) -> list[float]:
    """TOPSIS (Hwang & Yoon 1981) with vector normalisation; every criterion is a benefit.

    Steps: r_ij = x_ij / sqrt(sum_i x_ij^2) (`vector_normalise`); v_ij = w_j x r_ij; ideal
    v+_j = max_i v_ij, anti-ideal v-_j = min_i v_ij; d+_i and d-_i are the Euclidean distances
    to them; closeness C_i = d-_i / (d+_i + d-_i) in [0, 1].

    Edge cases: a zero column contributes 0 (see `vector_normalise`). When d+ + d- = 0 the
    option coincides with both the ideal and the anti-ideal — a single option, or options
    identical on every weighted criterion — and its closeness is defined as 1.0: nothing in the
    set is better than it. (pymcdm returns NaN there.)

    Unlike the weighted sum, TOPSIS measures each option against the others (the column
    lengths and the ideal points come from the whole set), so adding or removing an option can
    change the others' closeness and even reorder them (rank reversal). Matches pymcdm
    `TOPSIS(normalization_function=vector_normalization)` with all types 1, and Tzeng & Huang
    (2011)'s worked example.
    """
    return topsis_closeness(vector_normalise(matrix), weights)
