"""Plain-language words for the criteria, as a patient would say them (reading age about 12).

Used by the trade-off questions (`/v1/preferences/questions`) and the clinic page, so the
patient meets the same words in both.
"""

from __future__ import annotations

from scoring.model import Criterion

CRITERION_LABELS: dict[Criterion, str] = {
    Criterion.EFFICACY: "how well the treatment works",
    Criterion.SAFETY: "fewer serious side effects",
    Criterion.CONVENIENCE: "less time, travel and needles",
    Criterion.COST: "a lower cost",
    Criterion.AVAILABILITY: "getting it without delays or shortages",
    Criterion.ONSET: "how quickly it starts to help",
}

CRITERION_HEADINGS: dict[Criterion, str] = {
    Criterion.EFFICACY: "How well it works",
    Criterion.SAFETY: "Fewer serious side effects",
    Criterion.CONVENIENCE: "Less time, travel and needles",
    Criterion.COST: "Lower cost",
    Criterion.AVAILABILITY: "No delays or shortages",
    Criterion.ONSET: "Starts to help quickly",
}

STRENGTH_WORDS: dict[int, str] = {
    1: "about the same",
    3: "a little more",
    5: "clearly more",
    7: "much more",
    9: "far more",
}
"""Saaty's odd scale points in everyday words; the page offers these five."""


def question_text(a: Criterion, b: Criterion) -> str:
    return f"Which matters more to you: {CRITERION_LABELS[a]}, or {CRITERION_LABELS[b]}?"
