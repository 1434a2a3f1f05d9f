"""Values clarification: pairwise trade-off questions -> importance weights (AHP, Saaty's CR)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ReaderDep
from api.errors import InvalidInput
from api.plain_words import CRITERION_LABELS, STRENGTH_WORDS, question_text
from api.schemas.preferences import (
    ConsistencyRead,
    CriterionSide,
    ElicitRequest,
    ElicitResponse,
    QuestionList,
    QuestionRead,
    StrengthRead,
)
from scoring.errors import InvalidAnswers
from scoring.preferences import ACCEPTABLE_RATIO, QUESTIONS, Answer, Elicitation, elicit

router = APIRouter(prefix="/v1/preferences", tags=["preferences"])

METHOD = (
    "AHP: principal eigenvector of the pairwise comparison matrix (Saaty 1977, 1990), "
    "unanswered pairs by Harker's method (1987); consistency ratio against Saaty's random "
    f"index, acceptable at {ACCEPTABLE_RATIO:.2f} or below"
)


def question_list() -> QuestionList:
    return QuestionList(
        items=[
            QuestionRead(
                id=q.id,
                text=question_text(q.a, q.b),
                a=CriterionSide(criterion=q.a.value, label=CRITERION_LABELS[q.a]),
                b=CriterionSide(criterion=q.b.value, label=CRITERION_LABELS[q.b]),
            )
            for q in QUESTIONS
        ],
        strengths=[StrengthRead(value=v, label=label) for v, label in STRENGTH_WORDS.items()],
    )


def _explanation(result: Elicitation) -> str:
    if result.acceptable:
        return (
            f"Your answers fit together well (consistency ratio {result.ratio:.2f}; "
            f"{ACCEPTABLE_RATIO:.2f} or less is considered consistent)."
        )
    if result.cycles:
        x, y, z = result.cycles[0]
        return (
            "Some answers go round in a circle: you put "
            f"{CRITERION_LABELS[x]} above {CRITERION_LABELS[y]}, {CRITERION_LABELS[y]} above "
            f"{CRITERION_LABELS[z]}, but {CRITERION_LABELS[z]} above {CRITERION_LABELS[x]}. "
            "You may want to look at these answers again; the weights below are only a rough "
            f"guide (consistency ratio {result.ratio:.2f})."
        )
    return (
        "Some answers do not fit well with the others (consistency ratio "
        f"{result.ratio:.2f}; {ACCEPTABLE_RATIO:.2f} or less is considered consistent). "
        "You may want to look at the questions listed again; the weights below are only a "
        "rough guide."
    )


@router.get("/questions", operation_id="preference_questions", response_model=QuestionList)
async def questions(_reader: ReaderDep) -> QuestionList:
    """The trade-off questions, each a pair of criteria in plain words."""
    return question_list()


@router.post("/elicit", operation_id="elicit_preferences", response_model=ElicitResponse)
async def elicit_weights(body: ElicitRequest, _reader: ReaderDep) -> ElicitResponse:
    """Importance weights from trade-off answers, with their consistency (AHP)."""
    answers = [Answer(a.question_id, a.prefer, a.strength) for a in body.answers]
    try:
        result = elicit(answers)
    except InvalidAnswers as exc:
        raise InvalidInput(
            str(exc),
            errors=[{"path": "body/answers", "message": str(exc), "type": "value_error"}],
            unlinked=list(exc.unlinked),
        ) from exc
    return ElicitResponse(
        weights={c.value: v for c, v in result.ratings.items()},
        consistency=ConsistencyRead(
            ratio=result.ratio,
            acceptable=result.acceptable,
            conflicts=[[a.value, b.value] for a, b in result.conflicts],
            cycles=[[c.value for c in cycle] for cycle in result.cycles],
            explanation=_explanation(result),
        ),
        answered=result.answered,
        complete=result.complete,
        method=METHOD,
    )
