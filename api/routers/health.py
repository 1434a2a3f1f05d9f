"""Liveness and readiness for orchestrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from api.deps import CatalogCacheDep, SettingsDep
from db.migrations import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz", responses={503: {"description": "Not ready"}})
def readyz(request: Request, settings: SettingsDep, cache: CatalogCacheDep) -> JSONResponse:
    """Ready to serve: database reachable, schema at the Alembic head, catalog loaded."""
    engine: Engine = request.app.state.engine
    checks: dict[str, Any] = {}
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current, head = current_revision(engine), head_revision(settings.database_url)
        checks["schema"] = "ok" if current == head else f"at {current}, head is {head}"
        snapshot = cache.get()
        checks["catalog"] = "ok" if snapshot.therapies else "empty"
        checks["catalog_version"] = snapshot.version
    except Exception as exc:  # readiness reports, it never raises
        checks.setdefault("database", f"unreachable: {type(exc).__name__}")
        checks.setdefault("catalog", f"not loaded: {type(exc).__name__}")
    ready = all(checks.get(k) == "ok" for k in ("database", "schema", "catalog"))
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
