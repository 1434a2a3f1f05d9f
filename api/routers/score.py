"""Scoring: one case, or a batch streamed as NDJSON. No database work in steady state."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from api.deps import ReaderDep, ScoringContextDep, SettingsDep, SnapshotDep, scoring_context
from api.direct import DirectRoute, direct, json_body
from api.errors import InvalidInput, ProblemError
from api.schemas.score import ScoreRequest, ScoreResponse
from api.scoring_io import case_from_request, encode, result_body, weights_error
from scoring.engine import rank
from scoring.errors import InvalidWeights
from scoring.model import CatalogSnapshot, Method

router = APIRouter(prefix="/v1", tags=["score"], route_class=DirectRoute)
log = logging.getLogger("tada.score")


def score_one(request: ScoreRequest, snapshot: CatalogSnapshot) -> dict[str, Any]:
    """Gather (request -> case), compute (engine), shape (result -> response body)."""
    case, preferences, weights = case_from_request(request, snapshot)
    try:
        result = rank(snapshot, case, preferences, weights, method=request.method)
    except InvalidWeights as exc:
        raise weights_error(exc) from exc
    return result_body(result, snapshot)


async def score_direct(request: Request) -> Response | None:
    """`score` for the usual request (JSON body, no query), without FastAPI's dependency
    solving: a third of the request's time (bench/profile_score.py). None: FastAPI's way."""
    body = await json_body(request, ScoreRequest)
    if body is None:
        return None
    context = await scoring_context(request)
    return Response(encode(score_one(body, context.snapshot)), media_type="application/json")


# `async def`: scoring is a fraction of a millisecond of pure computation on an in-memory
# snapshot, cheaper than the thread-pool hop a `def` endpoint would take (see the benchmark).
@router.post("/score", operation_id="score", response_model=ScoreResponse)
@direct(score_direct)
async def score(
    body: ScoreRequest,
    context: ScoringContextDep,
    method: Annotated[Method | None, Query(description="Overrides `method` in the body")] = None,
) -> Response:
    """Order the therapies for one patient by their stated priorities (an aid, not advice)."""
    if method is not None:
        body = body.model_copy(update={"method": method})
    return Response(encode(score_one(body, context.snapshot)), media_type="application/json")


class BatchRequest(BaseModel):
    # `Any`, not `dict`: a case that is not an object is a per-case error line, not a 422 for
    # the whole batch.
    cases: list[Any] = Field(
        description="Up to 10,000 score requests, each shaped like the body of POST /v1/score"
    )


def _problem_line(index: int, exc: ProblemError) -> dict[str, Any]:
    problem: dict[str, Any] = {"status": exc.status, "title": exc.title, "detail": exc.detail}
    if exc.errors:
        problem["errors"] = exc.errors
    return {"index": index, "error": problem}


BATCH_CHUNK = 64


def _batch_lines(cases: list[Any], snapshot: CatalogSnapshot) -> Iterator[bytes]:
    """NDJSON, yielded a few dozen lines at a time: Starlette pulls each chunk of a sync
    generator through the thread pool, so one line per chunk would cost a hop per case."""
    chunk: list[bytes] = []
    for line in _batch_results(cases, snapshot):
        chunk.append(line)
        if len(chunk) == BATCH_CHUNK:
            yield b"".join(chunk)
            chunk = []
    if chunk:
        yield b"".join(chunk)


def _batch_results(cases: list[Any], snapshot: CatalogSnapshot) -> Iterator[bytes]:
    for index, raw in enumerate(cases):
        try:
            line = _batch_line(index, raw, snapshot)
        except Exception:  # one case must never cut the stream (a 200 is already sent)
            log.exception("batch case %d failed", index)
            line = {
                "index": index,
                "error": {
                    "status": 500,
                    "title": "Internal error",
                    "detail": "This case could not be scored; the error has been logged.",
                },
            }
        yield encode(line) + b"\n"


def _batch_line(index: int, raw: Any, snapshot: CatalogSnapshot) -> dict[str, Any]:
    try:
        try:
            request = ScoreRequest.model_validate(raw)
        except ValidationError as exc:
            errors = [
                {
                    "path": "/".join(str(p) for p in e["loc"]),
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors()
            ]
            raise InvalidInput(
                "; ".join(f"{e['path'] or 'case'}: {e['message']}" for e in errors[:5]),
                errors=errors,
            ) from exc
        return {"index": index, "result": score_one(request, snapshot)}
    except ProblemError as exc:
        return _problem_line(index, exc)


@router.post(
    "/score/batch",
    operation_id="score_batch",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "One JSON line per case, in order",
        }
    },
)
def score_batch(
    body: BatchRequest, snapshot: SnapshotDep, settings: SettingsDep, _reader: ReaderDep
) -> StreamingResponse:
    """Score many cases (population review); one NDJSON line per case, errors in-line."""
    if len(body.cases) > settings.batch_max_cases:
        raise InvalidInput(
            f"A batch holds at most {settings.batch_max_cases} cases; "
            f"this one has {len(body.cases)}."
        )
    # One snapshot for the whole batch: every line names the same catalog version.
    return StreamingResponse(_batch_lines(body.cases, snapshot), media_type="application/x-ndjson")
