"""Outcome figures as natural-frequency sentences."""

from __future__ import annotations

import pytest

from scoring.frequencies import per_100, statement
from scoring.model import OutcomeFigure


def figure(**overrides: object) -> OutcomeFigure:
    values: dict[str, object] = {
        "id": "ivig-cidp-ice",
        "measure": "had less disability",
        "population": "adults with CIDP",
        "time_frame": "24 weeks",
        "events": 54,
        "per": 100,
        "source_id": "ice-trial",
        "comparator": "placebo",
        "comparator_events": 21,
    }
    values.update(overrides)
    return OutcomeFigure(**values)  # type: ignore[arg-type]


def test_the_ice_trial_sentence() -> None:
    assert statement(figure()) == (
        "About 54 in 100 people had less disability after 24 weeks, "
        "against about 21 in 100 with placebo. Who: adults with CIDP."
    )


@pytest.mark.parametrize(
    ("x", "words"),
    [
        (0.0, "0"),
        (0.3, "fewer than 1"),
        (1.0, "about 1"),
        (2.5, "about 3"),
        (53.6, "about 54"),
        (99.2, "more than 99"),
        (100.0, "100"),
    ],
)
def test_counts_are_whole_numbers_except_near_0_and_100(x: float, words: str) -> None:
    assert per_100(x) == words


def test_rare_events_per_1000_and_a_horizon_with_its_own_preposition() -> None:
    text = statement(
        figure(
            measure="had a serious infusion reaction",
            time_frame="within 1 year",
            events=4,
            per=1000,
            comparator=None,
            comparator_events=None,
            uncertainty="Wide confidence interval.",
        )
    )
    assert text == (
        "About 4 in 1,000 people had a serious infusion reaction within 1 year. "
        "Who: adults with CIDP. Wide confidence interval."
    )


@pytest.mark.parametrize(("events", "start"), [(0, "0 in 100"), (100, "100 in 100")])
def test_none_and_all_are_exact(events: int, start: str) -> None:
    assert statement(figure(events=events)).startswith(start)


def test_a_comparator_without_a_name() -> None:
    assert "with the comparison group" in statement(figure(comparator=None))


def test_no_advice_words() -> None:
    text = statement(figure()).lower()
    for word in ("recommend", "should", "best"):
        assert word not in text
