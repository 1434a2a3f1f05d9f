"""Importance ratings -> normalised weights.

A patient rates each criterion 0-10 ("how much does this matter to you"); the engine divides
each rating by their sum. See docs/decisions/0003-default-weights.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from types import MappingProxyType

from scoring.errors import InvalidWeights
from scoring.model import CRITERIA, Criterion
from scoring.precision import apportion

MAX_RATING = 10.0

DEFAULT_RATINGS: Mapping[Criterion, float] = MappingProxyType(dict.fromkeys(CRITERIA, 5.0))
"""Equal ratings (5 of 10) for every criterion: the non-directive default.

A decision aid must not impose priorities: any unequal default would be the tool's opinion of
what should matter to the patient. Equal weights say "we have not been told" and make the
ordering reflect only the options' values; a patient or clinician changes them to state what
matters. 5 (the middle of the scale) rather than 10 leaves room to rate a criterion up as well
as down.
"""

_DEFAULTS: dict[Criterion, float] = dict(DEFAULT_RATINGS)  # a plain dict reads faster
_KNOWN: frozenset[Criterion] = frozenset(CRITERIA)


def normalise(ratings: Mapping[Criterion, float]) -> dict[Criterion, float]:
    """Weights w_c = r_c / sum(r); see `normalised_weights` (this returns a fresh dict)."""
    # The key is the ratings as given: the same ratings in another order only take a second
    # slot (the weights do not depend on the order), and no per-call sort is paid.
    key = tuple(ratings.items())
    try:
        return dict(_normalise_cached(key))
    except TypeError:  # an unhashable rating: let the checks below describe it
        return dict(normalised_weights(ratings))


@functools.lru_cache(maxsize=1024)
def _normalise_cached(ratings: tuple[tuple[Criterion, float], ...]) -> dict[Criterion, float]:
    # Patients mostly keep the defaults or move a few sliders: a small memo saves the checks.
    return normalised_weights(dict(ratings))


def normalised_weights(ratings: Mapping[Criterion, float]) -> dict[Criterion, float]:
    """Weights w_c = r_c / sum(r), in `CRITERIA` order, to 6 decimals summing exactly to 1.

    Inputs: ratings 0-10 keyed by criterion; a criterion left out takes its default rating
    (`DEFAULT_RATINGS`), as the public API documents.

    Raises `InvalidWeights` for a rating that is not a finite number in [0, 10], or when every
    rating is 0 (nothing matters: no ordering can be made).
    """
    complete: dict[Criterion, float] = {}
    for criterion in CRITERIA:
        rating = ratings.get(criterion, _DEFAULTS[criterion])
        if rating.__class__ is float and 0.0 <= rating <= MAX_RATING:
            # The common case, decided by one type check and one chained comparison (NaN and
            # infinities fail it); anything else goes through the checks below.
            complete[criterion] = rating
            continue
        if isinstance(rating, bool) or not isinstance(rating, (int, float)):
            raise InvalidWeights(f"The rating for {criterion} must be a number from 0 to 10.")
        if not math.isfinite(rating) or not 0.0 <= rating <= MAX_RATING:
            raise InvalidWeights(
                f"The rating for {criterion} must be from 0 to 10; it is {rating}."
            )
        complete[criterion] = float(rating)
    unknown = [str(key) for key in ratings if key not in _KNOWN]
    if unknown:
        raise InvalidWeights(
            f"Unknown criteria {sorted(unknown)}; the criteria are "
            + ", ".join(c.value for c in CRITERIA)
            + "."
        )
    total = math.fsum(complete.values())
    if total <= 0:
        raise InvalidWeights(
            "All weights are zero: give at least one criterion an importance above 0."
        )
    # Rounded once here (see `scoring.precision.apportion`) and used as shown everywhere after,
    # so that a reader can recompute every contribution from the weights in the result.
    shares = apportion([rating / total for rating in complete.values()])
    return dict(zip(complete, shares, strict=True))
