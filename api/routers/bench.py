"""A bare endpoint for the benchmark's baseline: parse a JSON body and echo it, nothing more.

Mounted only when TADA_BENCH_ENDPOINTS is set, so `bench/run.py` can compare `/v1/score`
with the cost of the framework itself in the same process.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

router = APIRouter(prefix="/bench", tags=["bench"], include_in_schema=False)


@router.post("/echo")
async def echo(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    """Echo the parsed body."""
    return body
