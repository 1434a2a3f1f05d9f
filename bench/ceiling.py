"""The ceiling for an explained answer: a bare FastAPI app, in its own process.

    TADA_BENCH_ANSWER_FILE=answer.json uvicorn --app-dir bench ceiling:app --workers 1

Two endpoints, each parsing the score request into a small pydantic model:
- `POST /echo` returns a small dict (the cost of the framework alone);
- `POST /answer` returns the pre-encoded bytes of the file named by TADA_BENCH_ANSWER_FILE,
  TADA's own answer to the same request (the cost of sending an answer of that size).

`bench/answer_cost.py` runs it beside `tada serve`. Not part of TADA.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from pydantic import BaseModel

ANSWER = Path(os.environ.get("TADA_BENCH_ANSWER_FILE", "/dev/null")).read_bytes()

app = FastAPI()


class Case(BaseModel):
    condition: str
    patient: dict[str, Any] = {}
    preferences: dict[str, Any] = {}
    weights: dict[str, int] = {}


@app.post("/echo")
async def echo(case: Case) -> dict[str, Any]:
    return {"condition": case.condition, "weights": case.weights}


@app.post("/answer")
async def answer(case: Case) -> Response:
    return Response(ANSWER, media_type="application/json")
