"""The one rounding rule for every float the engine returns.

Results are rounded to 6 decimals so that the same input gives the same bytes on every platform
and Python build (the last bits of a float sum can differ; the sixth decimal does not, except at
an exact rounding boundary), and so that the ordering uses exactly the numbers a reader sees.
"""

from __future__ import annotations

from collections.abc import Iterable

DECIMALS = 6


def fixed(x: float) -> float:
    """`x` rounded to `DECIMALS` places, with -0.0 turned into 0.0 (they print differently).

    Always exactly `round(x, DECIMALS) + 0.0`, but `round` with digits formats the float as
    decimal text and parses it back, and the engine rounds dozens of numbers per case. So:
    y = x * 10^6 is within half an ulp of the exact product (far below 1e-4 while
    |y| < 1e11); when y is not within 1e-4 of a half, the integer k nearest to y is also the one
    nearest to the exact product, i.e. the correctly rounded 6-decimal value is k / 10^6, which
    one IEEE division gives correctly rounded (k and 10^6 are exact). Otherwise (near a half,
    huge, infinite or NaN) `round` itself decides.

    k is found without a call: adding and subtracting 1.5 x 2^52 leaves a double rounded to the
    nearest integer (exact while |y| < 2^51, far above 1e11), as a float equal to `round(y)`,
    and gives +0.0 for any y rounding to zero. A score request rounds about 50 numbers; this
    halved the cost of each (0.25 -> 0.14 µs, tests/scoring/test_engine_internals.py holds it
    equal to `round`).
    """
    y = x * _SCALE
    if -_EXACT < y < _EXACT:
        k = (y + _MAGIC) - _MAGIC
        if -_NEAR_HALF < y - k < _NEAR_HALF:
            return k / _SCALE
    return round(x, DECIMALS) + 0.0


def fixed_all(values: Iterable[float]) -> list[float]:
    """`[fixed(x) for x in values]`, with the fast path of `fixed` inlined: one call for a
    row of numbers instead of one per number."""
    rounded: list[float] = []
    for x in values:
        y = x * _SCALE
        if -_EXACT < y < _EXACT:
            k = (y + _MAGIC) - _MAGIC
            if -_NEAR_HALF < y - k < _NEAR_HALF:
                rounded.append(k / _SCALE)
                continue
        rounded.append(round(x, DECIMALS) + 0.0)
    return rounded


_SCALE = 1e6  # 10 ** DECIMALS
_EXACT = 1e11  # below this, half an ulp of y is under 1e-5
_NEAR_HALF = 0.4999
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: y + _MAGIC - _MAGIC is y rounded to an integer


def fixed_or_none(x: float | None) -> float | None:
    return None if x is None else fixed(x)


def apportion(shares: list[float]) -> list[float]:
    """Shares that sum to 1, rounded to `DECIMALS` places so that the rounded shares still sum
    to exactly 1 (largest remainder; ties go to the earlier share).

    Rounding each of six equal weights to 0.166667 would make them sum to 1.000002; weights a
    reader adds up should add up.
    """
    scale = 10**DECIMALS
    units = [max(0.0, share) * scale for share in shares]
    whole = [int(u) for u in units]
    short = scale - sum(whole)
    if short > 0:
        # Largest remainder first, ties to the earlier share: sorting (-remainder, i) pairs
        # directly (w - u is exactly -(u - w)) spares a key function call per share.
        order = sorted([(w - u, i) for i, (u, w) in enumerate(zip(units, whole, strict=True))])
        for _, i in order[:short]:
            whole[i] += 1
    return [w / scale for w in whole]
