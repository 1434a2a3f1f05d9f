"""Values clarification: importance ratings from a patient's pairwise trade-off answers (AHP).

The patient answers questions of the form "which matters more to you, A or B, and by how
much?" for pairs of the six criteria. Each answer is a judgement on Saaty's 1-9 scale (1 equal,
3 a little more, 5 clearly more, 7 much more, 9 far more). The method is the Analytic Hierarchy
Process (Saaty, "A scaling method for priorities in hierarchical structures", J Math Psychol
1977;15:234-281; "How to make a decision: the analytic hierarchy process", Eur J Oper Res
1990;48:9-26):

- **Weights**: the principal (Perron) eigenvector of the reciprocal comparison matrix, found by
  power iteration (deterministic; no randomness). Questions left unanswered are handled by
  Harker's method (P. T. Harker, "Incomplete pairwise comparisons in the analytic hierarchy
  process", Math Modelling 1987;9(11):837-848): a missing entry is 0 and each diagonal entry is 1
  plus the number of missing entries in its row. Its eigenvector equals that of the matrix
  completed with the consistent ratios w_i / w_j, and so does its eigenvalue. Harker's minimum
  is n - 1 answers that link every criterion (a spanning tree); fewer is refused.
- **Consistency**: CI = (lambda_max - n) / (n - 1) and CR = CI / RI with Saaty's random index
  (RI = 1.24 for n = 6; Saaty 1980/1990). CR <= 0.10 is acceptable (Saaty's rule). With
  unanswered questions the CR is computed on the Harker-completed matrix against the same RI;
  completed entries are consistent by construction, so a CR over 0.10 always comes from the
  answers themselves.
- **Conflicts**: never averaged away. When the CR is not acceptable, the answers that disagree
  most with the weights they produced are named: every answered pair in an intransitive cycle
  ("A over B, B over C, but C over A") when there is one; otherwise up to three pairs with the
  largest Saaty error e_ij = a_ij * w_j / w_i (Saaty 2004, J Syst Sci Syst Eng 13(1):1-35) of
  at least 2 as max(e, 1/e) (the answer is at least twice, or half, what the patient's other
  answers imply), or the single largest. Weights are still returned, marked not acceptable.

The output ratings are scaled so that the largest is 10 (the scale of `weights` in a score
request), rounded to 2 decimals.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from scoring.errors import InvalidAnswers
from scoring.model import CRITERIA, Criterion

RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}
"""Saaty's random consistency index by matrix order (Saaty 1980, The Analytic Hierarchy Process,
McGraw-Hill; the table reprinted in Saaty 1990, EJOR 48:9-26)."""

ACCEPTABLE_RATIO = 0.10
CONFLICT_ERROR = 2.0  # an answer at least twice (or half) what the other answers imply
MAX_CONFLICTS = 3  # a patient can revisit three answers; a longer list helps nobody
MAX_STRENGTH = 9
_ITERATIONS = 10_000
_TOLERANCE = 1e-13


class Prefer(StrEnum):
    A = "a"
    B = "b"
    EQUAL = "equal"


@dataclass(frozen=True, slots=True)
class TradeOffQuestion:
    """One pair of criteria to compare; `id` is stable (`"efficacy-safety"`)."""

    id: str
    a: Criterion
    b: Criterion


QUESTIONS: tuple[TradeOffQuestion, ...] = tuple(
    TradeOffQuestion(id=f"{a.value}-{b.value}", a=a, b=b)
    for a, b in itertools.combinations(CRITERIA, 2)
)
_BY_ID = {q.id: q for q in QUESTIONS}


@dataclass(frozen=True, slots=True)
class Answer:
    question_id: str
    prefer: Prefer
    strength: int = 1


@dataclass(frozen=True, slots=True)
class Elicitation:
    ratings: dict[Criterion, float]
    """Importance 0-10 per criterion, in `CRITERIA` order, the largest exactly 10."""
    ratio: float
    """Saaty's consistency ratio CR (0 when fewer than three criteria are compared)."""
    acceptable: bool
    conflicts: tuple[tuple[Criterion, Criterion], ...]
    """Answered pairs (in question order a, b) that disagree with the others; empty when
    acceptable. Most inconsistent first."""
    cycles: tuple[tuple[Criterion, Criterion, Criterion], ...]
    """Intransitive triads (x over y, y over z, z over x) among the answers."""
    answered: int
    complete: bool


def judgement(answer: Answer) -> float:
    """a_ab on Saaty's scale: `strength` for a over b, its reciprocal for b over a, 1 for equal."""
    if answer.prefer is Prefer.EQUAL:
        return 1.0
    if not 1 <= answer.strength <= MAX_STRENGTH:
        raise InvalidAnswers(
            f"strength must be 1-{MAX_STRENGTH} for question {answer.question_id!r}, "
            f"not {answer.strength}"
        )
    strength = float(answer.strength)
    return strength if answer.prefer is Prefer.A else 1.0 / strength


def _matrix(answers: Sequence[Answer]) -> list[list[float | None]]:
    n = len(CRITERIA)
    index = {c: i for i, c in enumerate(CRITERIA)}
    matrix: list[list[float | None]] = [[None] * n for _ in range(n)]
    for i in range(n):
        matrix[i][i] = 1.0
    seen: set[str] = set()
    for answer in answers:
        question = _BY_ID.get(answer.question_id)
        if question is None:
            raise InvalidAnswers(
                f"unknown question {answer.question_id!r}; GET /v1/preferences/questions lists them"
            )
        if answer.question_id in seen:
            raise InvalidAnswers(f"question {answer.question_id!r} is answered more than once")
        seen.add(answer.question_id)
        value = judgement(answer)
        i, j = index[question.a], index[question.b]
        matrix[i][j] = value
        matrix[j][i] = 1.0 / value
    return matrix


def _unlinked(matrix: list[list[float | None]]) -> list[Criterion]:
    """Criteria not connected to the first one through answered pairs (empty when linked)."""
    n = len(matrix)
    reached = {0}
    frontier = [0]
    while frontier:
        i = frontier.pop()
        for j in range(n):
            if j not in reached and matrix[i][j] is not None:
                reached.add(j)
                frontier.append(j)
    return [CRITERIA[i] for i in range(n) if i not in reached]


def _harker(matrix: list[list[float | None]]) -> list[list[float]]:
    n = len(matrix)
    out = [[0.0] * n for _ in range(n)]
    for i in range(n):
        missing = sum(1 for j in range(n) if matrix[i][j] is None)
        for j in range(n):
            value = matrix[i][j]
            out[i][j] = 0.0 if value is None else value
        out[i][i] = 1.0 + missing
    return out


def principal_eigenvector(matrix: Sequence[Sequence[float]]) -> tuple[list[float], float]:
    """(w, lambda_max) of a positive-diagonal irreducible non-negative matrix by power
    iteration; w sums to 1. Converges because such a matrix is primitive (Perron-Frobenius)."""
    n = len(matrix)
    w = [1.0 / n] * n
    for _ in range(_ITERATIONS):
        product = [sum(row[j] * w[j] for j in range(n)) for row in matrix]
        total = sum(product)
        nxt = [x / total for x in product]
        if max(abs(a - b) for a, b in zip(nxt, w, strict=True)) < _TOLERANCE:
            w = nxt
            break
        w = nxt
    product = [sum(row[j] * w[j] for j in range(n)) for row in matrix]
    lambda_max = sum(product[i] / w[i] for i in range(n)) / n
    return w, lambda_max


def _cycles(
    matrix: list[list[float | None]],
) -> list[tuple[int, int, int]]:
    """Index triads (x, y, z) with x strictly over y, y over z and z over x among answers."""
    n = len(matrix)

    def over(i: int, j: int) -> bool:
        value = matrix[i][j]
        return value is not None and value > 1.0

    found: list[tuple[int, int, int]] = []
    for i, j, k in itertools.combinations(range(n), 3):
        if over(i, j) and over(j, k) and over(k, i):
            found.append((i, j, k))
        elif over(i, k) and over(k, j) and over(j, i):
            found.append((i, k, j))
    return found


def _pair(i: int, j: int) -> tuple[Criterion, Criterion]:
    return (CRITERIA[i], CRITERIA[j]) if i < j else (CRITERIA[j], CRITERIA[i])


def elicit(answers: Sequence[Answer]) -> Elicitation:
    """Ratings 0-10 (largest 10) and Saaty's consistency for a patient's trade-off answers.

    Raises `InvalidAnswers` for an unknown or repeated question, a strength outside 1-9, or
    answers that do not link all six criteria (Harker's minimum: n - 1 linking answers).
    """
    matrix = _matrix(answers)
    unlinked = _unlinked(matrix)
    if unlinked:
        names = ", ".join(c.value for c in unlinked)
        raise InvalidAnswers(
            f"the answers do not compare {names} with the other criteria; answer at least one "
            "question that links each criterion to the rest",
            unlinked=tuple(c.value for c in unlinked),
        )
    n = len(CRITERIA)
    w, lambda_max = principal_eigenvector(_harker(matrix))
    ci = max(0.0, (lambda_max - n) / (n - 1))
    ratio = round(ci / RANDOM_INDEX[n], 4) if RANDOM_INDEX[n] else 0.0
    acceptable = ratio <= ACCEPTABLE_RATIO
    cycles = _cycles(matrix)
    conflicts: tuple[tuple[Criterion, Criterion], ...] = ()
    if not acceptable:
        conflicts = _conflicts(matrix, w, cycles)
    top = max(w)
    ratings = {c: round(10.0 * w[i] / top, 2) for i, c in enumerate(CRITERIA)}
    return Elicitation(
        ratings=ratings,
        ratio=ratio,
        acceptable=acceptable,
        conflicts=conflicts,
        cycles=tuple((CRITERIA[x], CRITERIA[y], CRITERIA[z]) for x, y, z in cycles),
        answered=len(answers),
        complete=len(answers) == len(QUESTIONS),
    )


def _conflicts(
    matrix: list[list[float | None]], w: list[float], cycles: list[tuple[int, int, int]]
) -> tuple[tuple[Criterion, Criterion], ...]:
    """Answered pairs that disagree with the rest, most inconsistent first (never empty)."""
    n = len(matrix)
    error: dict[tuple[int, int], float] = {}
    for i, j in itertools.combinations(range(n), 2):
        value = matrix[i][j]
        if value is not None:
            e = value * w[j] / w[i]
            error[(i, j)] = max(e, 1.0 / e)
    in_cycle = {(min(p, q), max(p, q)) for x, y, z in cycles for p, q in ((x, y), (y, z), (z, x))}
    if in_cycle:  # the clearest conflict to explain: answers that go round in a circle
        chosen = in_cycle
    else:
        chosen = {pair for pair, e in error.items() if e >= CONFLICT_ERROR}
    ordered = sorted(chosen, key=lambda pair: (-error[pair], pair))
    if not in_cycle:
        ordered = ordered[:MAX_CONFLICTS] or [min(error, key=lambda pair: (-error[pair], pair))]
    return tuple(_pair(i, j) for i, j in ordered)
