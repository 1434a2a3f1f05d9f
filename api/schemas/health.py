"""Readiness: what `/readyz` answers with while scores can be served."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Readiness(BaseModel):
    status: Literal["ready", "degraded"] = Field(
        description="`degraded`: scores are served from the in-memory catalog, but the "
        "database does not answer (writes get 503)"
    )
    checks: dict[str, Any] = Field(
        description="`database`, `schema`, `catalog`, `catalog_version`, and "
        "`catalog_refresh` when the background refresh is failing"
    )
