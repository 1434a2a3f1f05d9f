"""Option grid and summary schemas (DESIGN.md "Contract additions": shared decision making)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas.decisions import NOTE_MAX_CHARS
from api.schemas.score import ScoreRequest


class GridOption(BaseModel):
    therapy_id: str
    name: str
    rank: int


class GridCell(BaseModel):
    therapy_id: str
    text: str = Field(description="Plain language, at most about 40 words")
    sources: list[str] = Field(description="Source ids (GET /v1/sources)")


class GridRow(BaseModel):
    id: str
    question: str
    cells: list[GridCell]


class GridCondition(BaseModel):
    id: str
    name: str


class OptionGrid(BaseModel):
    catalog_version: int
    condition: GridCondition
    ordering_basis: str
    options: list[GridOption]
    rows: list[GridRow]


class SummaryRequest(ScoreRequest):
    chosen_therapy_id: Annotated[
        str | None, Field(max_length=80, description="The option chosen, if one was")
    ] = None
    note: Annotated[
        str | None,
        Field(
            max_length=NOTE_MAX_CHARS,
            description="Printed on the summary; never stored or logged",
        ),
    ] = None
