"""The one rounding rule for every float the engine returns.

Results are rounded to 6 decimals so that the same input gives the same bytes on every platform
and Python build (the last bits of a float sum can differ; the sixth decimal does not, except at
an exact rounding boundary), and so that the ordering uses exactly the numbers a reader sees.
"""

from __future__ import annotations

DECIMALS = 6


def fixed(x: float) -> float:
    """`x` rounded to `DECIMALS` places, with -0.0 turned into 0.0 (they print differently)."""
    return round(x, DECIMALS) + 0.0


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
    order = sorted(range(len(units)), key=lambda i: (-(units[i] - whole[i]), i))
    for i in order[: max(0, short)]:
        whole[i] += 1
    return [w / scale for w in whole]
