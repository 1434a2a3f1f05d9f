"""Decision records and their replay (`/v1/decisions`), as in DESIGN.md "Contract additions"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas.score import ScoreRequest

PARTICIPANTS = ("patient", "clinician", "nurse", "pharmacist", "family_member", "interpreter")
Participant = Literal["patient", "clinician", "nurse", "pharmacist", "family_member", "interpreter"]
NOTE_MAX_CHARS = 2000
DecisionId = Annotated[str, Field(min_length=1, max_length=36)]


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request: ScoreRequest = Field(description="The score request, as sent to POST /v1/score")
    status: Literal["decided", "deferred"]
    chosen_therapy_id: Annotated[
        str | None,
        Field(max_length=80, description="A ranked option when `decided`; null when `deferred`"),
    ] = None
    participants: Annotated[
        list[Participant], Field(max_length=len(PARTICIPANTS), description="Who took part")
    ] = []
    note: Annotated[
        str | None,
        Field(
            max_length=NOTE_MAX_CHARS,
            description="Free text; no names or identifiers. Stored, never logged.",
        ),
    ] = None
    external_ref: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=200,
            description="The clinic's reference for the visit; stored only as an HMAC",
        ),
    ] = None
    corrects: Annotated[
        DecisionId | None, Field(description="The id of an earlier record this one corrects")
    ] = None

    @field_validator("participants")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each participant role at most once")
        return value

    @field_validator("note")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(ord(c) < 32 and c not in "\n\t" for c in value):
            raise ValueError("control characters are not allowed")
        return value


class DecisionCreated(BaseModel):
    id: str
    catalog_version: int
    engine_version: str
    result_digest: str = Field(description="SHA-256 of the canonical bytes of the result")
    created_at: datetime


class DecisionRead(DecisionCreated):
    status: Literal["decided", "deferred"]
    chosen_therapy_id: str | None
    participants: list[str]
    note: str | None
    corrects: str | None
    corrected_by: list[str] = Field(description="Later records that correct this one")
    recorded_by: str
    request: dict[str, Any]
    result: dict[str, Any] = Field(description="The result as it was shown (POST /v1/score)")


class DecisionList(BaseModel):
    items: list[DecisionRead]


class RankChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    therapy_id: str
    from_rank: int = Field(alias="from")
    to_rank: int = Field(alias="to")


class CautionText(BaseModel):
    code: str
    message: str


class CautionChange(BaseModel):
    therapy_id: str
    added: list[CautionText]
    removed: list[CautionText]


class FigureChange(BaseModel):
    therapy_id: str
    added: list[str]
    removed: list[str]
    changed: list[str]


class Changes(BaseModel):
    to_version: int
    added: list[str] = Field(description="Ranked now, not then")
    removed: list[str] = Field(description="Ranked then, not now")
    rank_changes: list[RankChange]
    cautions: list[CautionChange]
    figures: list[FigureChange]


class ReplayRead(BaseModel):
    identical: bool = Field(description="The re-scored result's digest equals the recorded one")
    catalog_version: int
    result_digest: str = Field(description="SHA-256 of the re-scored result")
    engine_changed: bool = Field(description="The record was made by another engine version")
    changes: Changes | None = Field(
        default=None, description="With ?against=current: the result on today's catalog"
    )
