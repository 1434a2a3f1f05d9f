"""The RFC 9457 problem document every error answers with (`application/problem+json`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    path: str = Field(description="Where in the request, e.g. `body/patient/egfr`")
    message: str
    type: str


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong and what to do about it, in words")
    instance: str | None = Field(default=None, description="The request path")
    errors: list[FieldError] | None = Field(
        default=None, description="For invalid input: each field that is wrong"
    )
    checks: dict[str, Any] | None = Field(
        default=None, description="`/readyz` only: the state of each dependency"
    )
