"""Liveness and readiness for orchestrators and load balancers."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.catalog_cache import CatalogCache
from api.errors import problem_response
from api.readiness import DatabaseProbe
from api.schemas.health import Readiness
from api.schemas.problem import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (no dependency is checked)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Readiness,
    responses={
        503: {
            "description": "Scores cannot be served (no catalog loaded, or the schema is "
            "missing or behind); `checks` says which",
            "model": Problem,
        }
    },
)
async def readyz(request: Request) -> JSONResponse:
    """Ready (200 `ready`), serving from memory without the database (200 `degraded`), or 503."""
    state = request.app.state
    cache: CatalogCache = state.catalog_cache
    probe: DatabaseProbe = state.database_probe
    database = await probe.check()
    checks: dict[str, Any] = {"database": database.database, "schema": database.schema}
    if cache.current is None and database.database == "ok" and database.schema == "ok":
        try:  # the first load (the database was not reachable at start-up)
            await anyio.to_thread.run_sync(cache.get)
        except Exception as exc:
            checks["catalog"] = f"not loaded: {getattr(exc, 'detail', type(exc).__name__)}"
    snapshot = cache.current
    if snapshot is not None:
        checks["catalog"] = "ok"
        checks["catalog_version"] = snapshot.version
    else:
        checks.setdefault("catalog", "not loaded")
    if cache.last_error:
        checks["catalog_refresh"] = f"failing: {cache.last_error}"
    if snapshot is None or database.schema not in ("ok", "unknown"):
        return problem_response(
            503,
            "Not ready",
            "This replica cannot serve scores: "
            + "; ".join(f"{k} {v}" for k, v in checks.items() if v != "ok"),
            slug="not-ready",
            instance=request.url.path,
            headers={"Retry-After": "5"},
            extra={"checks": checks},
        )
    ready = database.database == "ok" and database.schema == "ok"
    return JSONResponse({"status": "ready" if ready else "degraded", "checks": checks})
