"""Outcome figures as natural-frequency sentences, the way IPDAS asks risks to be shown.

"About 54 in 100 people had less disability after 24 weeks, against about 21 in 100 with
placebo. Who: adults with CIDP."

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


def _count(events: int, per: int) -> str:
    """`events` out of `per` in words: "about 54", "0", or all of them."""
    if events <= 0:
        return "0"
    if events >= per:
        return f"{per:,}"
    return f"about {events:,}"


def _horizon(time_frame: str) -> str:
    text = time_frame.strip()
    if not text:
        return ""
    first = text.split()[0].lower()
    return f" {text}" if first in _PREPOSITIONS else f" after {text}"


def statement(figure: OutcomeFigure) -> str:
    """One plain sentence for one outcome figure, then who the figure is about and how sure it is.

    Inputs: `OutcomeFigure` events out of `per` people (treated and, if known, comparator, on
    the same denominator), the measure (what the people did or had, e.g. "had less
    disability"), its time frame, the population and the uncertainty.
    """
    treated = _count(figure.events, figure.per)
    per = f"{figure.per:,}"
    sentence = (
        f"{treated[0].upper()}{treated[1:]} in {per} people {figure.measure}"
        f"{_horizon(figure.time_frame)}"
    )
    if figure.comparator_events is not None:
        comparator = figure.comparator or "the comparison group"
        count = _count(figure.comparator_events, figure.per)
        sentence += f", against {count} in {per} with {comparator}"
    sentence += f". Who: {figure.population}."
    if figure.uncertainty:
        sentence += f" {figure.uncertainty.rstrip('.')}."
    return sentence
