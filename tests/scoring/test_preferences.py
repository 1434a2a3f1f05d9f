"""Values clarification (AHP): weights, Saaty's consistency ratio, conflicts, Harker's method."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import InvalidAnswers
from scoring.model import CRITERIA, Criterion
from scoring.preferences import QUESTIONS, RANDOM_INDEX, Answer, Prefer, elicit

E, S, CV, CO, AV, ON = CRITERIA


def consistent_answers(priorities: dict[Criterion, int]) -> list[Answer]:
    """Answers implied exactly by the ratios of `priorities` (each ratio must be 1-9)."""
    answers = []
    for q in QUESTIONS:
        pa, pb = priorities[q.a], priorities[q.b]
        if pa == pb:
            answers.append(Answer(q.id, Prefer.EQUAL))
        elif pa > pb:
            answers.append(Answer(q.id, Prefer.A, pa // pb))
        else:
            answers.append(Answer(q.id, Prefer.B, pb // pa))
    return answers


def test_there_is_one_question_per_pair_of_criteria() -> None:
    assert len(QUESTIONS) == 15
    assert {frozenset((q.a, q.b)) for q in QUESTIONS} == {
        frozenset(p) for p in itertools.combinations(CRITERIA, 2)
    }
    assert QUESTIONS[0].id == "efficacy-safety"


def test_all_equal_answers_give_equal_weights_of_ten() -> None:
    result = elicit([Answer(q.id, Prefer.EQUAL) for q in QUESTIONS])
    assert result.ratings == dict.fromkeys(CRITERIA, 10.0)
    assert result.ratio == 0.0
    assert result.acceptable
    assert result.conflicts == ()
    assert result.complete


def test_perfectly_consistent_answers_recover_the_ratios() -> None:
    # efficacy 2x safety, safety = convenience, ... ratios that stay within 1-9
    priorities = {E: 8, S: 4, CV: 4, CO: 1, AV: 2, ON: 8}
    result = elicit(consistent_answers(priorities))
    assert result.ratings == {E: 10.0, S: 5.0, CV: 5.0, CO: 1.25, AV: 2.5, ON: 10.0}
    assert result.ratio == 0.0
    assert result.acceptable


def test_answers_that_go_round_in_a_circle_are_reported_not_averaged() -> None:
    answers = [
        Answer("efficacy-safety", Prefer.A, 7),
        Answer("safety-convenience", Prefer.A, 7),
        Answer("efficacy-convenience", Prefer.B, 7),
        Answer("efficacy-cost", Prefer.EQUAL),
        Answer("efficacy-availability", Prefer.EQUAL),
        Answer("efficacy-onset", Prefer.EQUAL),
    ]
    result = elicit(answers)
    assert not result.acceptable
    assert result.ratio > 0.1
    assert result.cycles == ((E, S, CV),)
    assert set(result.conflicts) == {(E, S), (S, CV), (E, CV)}
    assert max(result.ratings.values()) == 10.0  # weights still returned


def test_a_cardinal_inconsistency_names_the_answer_that_disagrees() -> None:
    # efficacy 9x cost and cost 9x onset, yet efficacy only equal to onset: no cycle, but
    # the efficacy-onset answer is far from what the other two imply.
    answers = [
        Answer("efficacy-cost", Prefer.A, 9),
        Answer("cost-onset", Prefer.A, 9),
        Answer("efficacy-onset", Prefer.EQUAL),
        Answer("efficacy-safety", Prefer.EQUAL),
        Answer("efficacy-convenience", Prefer.EQUAL),
        Answer("efficacy-availability", Prefer.EQUAL),
    ]
    result = elicit(answers)
    assert not result.acceptable
    assert result.cycles == ()
    assert 1 <= len(result.conflicts) <= 3
    assert set(result.conflicts) <= {(E, CO), (CO, ON), (E, ON)}


def test_mildly_uneven_answers_stay_acceptable() -> None:
    priorities = {E: 9, S: 3, CV: 3, CO: 1, AV: 1, ON: 3}
    answers = consistent_answers(priorities)
    answers[0] = Answer("efficacy-safety", Prefer.A, 4)  # 4 instead of 3
    result = elicit(answers)
    assert 0 < result.ratio <= 0.1
    assert result.acceptable
    assert result.conflicts == ()


def test_a_spanning_tree_of_answers_is_enough_and_is_consistent() -> None:
    answers = [Answer(f"efficacy-{c.value}", Prefer.A, 3) for c in CRITERIA[1:]]
    result = elicit(answers)
    assert result.ratings[E] == 10.0
    assert {result.ratings[c] for c in CRITERIA[1:]} == {3.33}
    assert result.ratio == 0.0
    assert not result.complete


def test_harker_completion_agrees_with_the_consistent_completion() -> None:
    # Drop five answers from a consistent set: the weights must not move.
    priorities = {E: 9, S: 3, CV: 3, CO: 1, AV: 1, ON: 3}
    full = consistent_answers(priorities)
    partial = [
        a for a in full if a.question_id not in {"safety-cost", "cost-onset", "efficacy-onset"}
    ]
    assert elicit(partial).ratings == elicit(full).ratings


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([Answer("efficacy-safety", Prefer.A, 3)], "do not compare"),
        ([Answer("nope", Prefer.A, 3)], "unknown question"),
        ([Answer("efficacy-safety", Prefer.A, 3)] * 2, "more than once"),
        ([Answer("efficacy-safety", Prefer.A, 12)], "strength"),
    ],
)
def test_answers_that_cannot_give_weights_are_refused(answers: list[Answer], message: str) -> None:
    with pytest.raises(InvalidAnswers, match=message):
        elicit(answers)


def test_unlinked_criteria_are_named() -> None:
    answers = [Answer("efficacy-safety", Prefer.A, 3), Answer("efficacy-cost", Prefer.B, 3)]
    with pytest.raises(InvalidAnswers) as info:
        elicit(answers)
    assert info.value.unlinked == ("convenience", "availability", "onset")


def test_the_random_index_is_saatys() -> None:
    assert RANDOM_INDEX[6] == 1.24
    assert RANDOM_INDEX[3] == 0.58


answer_strategy = st.lists(
    st.tuples(st.sampled_from(list(Prefer)), st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9])),
    min_size=15,
    max_size=15,
)


@settings(max_examples=60, deadline=None)
@given(answer_strategy)
def test_weights_and_ratio_match_numpys_eigen_decomposition(
    raw: list[tuple[Prefer, int]],
) -> None:
    answers = [Answer(q.id, p, s) for q, (p, s) in zip(QUESTIONS, raw, strict=True)]
    result = elicit(answers)
    n = len(CRITERIA)
    matrix = np.ones((n, n))
    index = {c: i for i, c in enumerate(CRITERIA)}
    for q, answer in zip(QUESTIONS, answers, strict=True):
        value = (
            1.0
            if p_equal(answer)
            else (answer.strength if answer.prefer is Prefer.A else 1 / answer.strength)
        )
        matrix[index[q.a], index[q.b]] = value
        matrix[index[q.b], index[q.a]] = 1 / value
    values, vectors = np.linalg.eig(matrix)
    k = int(np.argmax(values.real))
    w = np.abs(vectors[:, k].real)
    expected = 10 * w / w.max()
    assert np.allclose([result.ratings[c] for c in CRITERIA], expected, atol=0.011)
    ratio = (values[k].real - n) / (n - 1) / 1.24
    assert result.ratio == pytest.approx(max(ratio, 0.0), abs=1e-3)
    assert result.acceptable == (result.ratio <= 0.1)
    assert (result.conflicts == ()) == result.acceptable
    assert max(result.ratings.values()) == 10.0
    assert all(0 <= v <= 10 for v in result.ratings.values())


def p_equal(answer: Answer) -> bool:
    return answer.prefer is Prefer.EQUAL
