"""Outcome figures as natural-frequency sentences, the way IPDAS asks risks to be shown.

"About 54 in 100 people (adults with CIDP) had improved disability after 24 weeks, against
about 21 in 100 with placebo."

Same denominator (100) for the therapy and its comparator, the group and the time horizon
named, whole numbers (a decimal suggests precision the trials do not have), and no advice:
the sentence reports what happened, never what to do.
"""

from __future__ import annotations

import math

from scoring.model import OutcomeFigure

# Horizons that already start with a preposition ("within 2 weeks", "per year") are used as
# written; a bare duration ("24 weeks") reads "after 24 weeks".
_PREPOSITIONS = ("after", "at", "by", "during", "each", "every", "in", "over", "per", "within")


def per_100(x: float) -> str:
    """A count out of 100 in words: "about 54", "fewer than 1", "more than 99", "0", "100".

    Rule: round half up to a whole number; values strictly between 0 and 1 read "fewer than 1"
    and strictly between 99 and 100 "more than 99", because rounding them would show an event
    as impossible or certain when it is not.
    """
    if x <= 0:
        return "0"
    if x >= 100:
        return "100"
    if x < 1:
        return "fewer than 1"
    if x > 99:
        return "more than 99"
    return f"about {math.floor(x + 0.5)}"


def _horizon(time_horizon: str) -> str:
    text = time_horizon.strip()
    if not text:
        return ""
    first = text.split()[0].lower()
    return f" {text}" if first in _PREPOSITIONS else f" after {text}"


def statement(figure: OutcomeFigure) -> str:
    """One sentence for one outcome figure: treated group, horizon, comparator, uncertainty.

    Inputs: `OutcomeFigure` events per 100 people (treated and, if known, comparator), the
    population the figure comes from, the outcome and its time horizon.
    """
    treated = per_100(figure.treated_per_100)
    sentence = (
        f"{treated[0].upper()}{treated[1:]} in 100 people ({figure.population}) had "
        f"{figure.outcome}{_horizon(figure.time_horizon)}"
    )
    if figure.comparator_per_100 is not None:
        comparator = figure.comparator or "the comparison group"
        sentence += f", against {per_100(figure.comparator_per_100)} in 100 with {comparator}"
    sentence += "."
    if figure.uncertainty:
        sentence += f" Uncertainty: {figure.uncertainty.rstrip('.')}."
    return sentence
