"""Values clarification: trade-off questions and the weights elicited from the answers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.types import Strict

from scoring.preferences import Prefer


class CriterionSide(BaseModel):
    criterion: str
    label: str = Field(description="The criterion in words a patient knows")


class QuestionRead(BaseModel):
    id: str
    text: str
    a: CriterionSide
    b: CriterionSide


class StrengthRead(BaseModel):
    value: int
    label: str


class QuestionList(BaseModel):
    items: list[QuestionRead]
    strengths: list[StrengthRead] = Field(
        description="The points of Saaty's 1-9 scale offered to patients, in words"
    )


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_id: Annotated[str, Field(max_length=64)]
    prefer: Prefer = Field(description="`a`, `b` or `equal`")
    strength: Annotated[
        int,
        Strict(),
        Field(
            ge=1,
            le=9,
            description="How much more (Saaty's scale: 1 equal, 3 a little, 5 clearly, 7 much, "
            "9 far more); ignored for `equal`",
        ),
    ] = 1


class ElicitRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "answers": [
                        {"question_id": "efficacy-safety", "prefer": "a", "strength": 3},
                        {"question_id": "efficacy-convenience", "prefer": "a", "strength": 5},
                        {"question_id": "efficacy-cost", "prefer": "a", "strength": 7},
                        {"question_id": "efficacy-availability", "prefer": "a", "strength": 5},
                        {"question_id": "efficacy-onset", "prefer": "equal"},
                    ]
                }
            ]
        },
    )

    answers: Annotated[list[AnswerIn], Field(min_length=1, max_length=15)]


class ConsistencyRead(BaseModel):
    ratio: float = Field(description="Saaty's consistency ratio CR; acceptable at 0.10 or below")
    acceptable: bool
    conflicts: list[list[str]] = Field(
        description="Answered pairs [criterion, criterion] that disagree with the other answers"
    )
    cycles: list[list[str]] = Field(
        description="Answers that go round in a circle: [x, y, z] = x over y, y over z, z over x"
    )
    explanation: str = Field(description="What the ratio means, in plain words")


class ElicitResponse(BaseModel):
    weights: dict[str, float] = Field(description="Importance 0-10 per criterion, the largest 10")
    consistency: ConsistencyRead
    answered: int
    complete: bool = Field(description="Every question answered")
    method: str
