"""One exception hierarchy, rendered by one handler as RFC 9457 `application/problem+json`.

Routes raise `ProblemError` subclasses; FastAPI's validation errors, Starlette's HTTP errors and
anything unexpected are turned into the same shape here, so a client never sees a bare 500 or
an HTML error page. 422 is used only for payload validation (as in polar's exceptions).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from db import curation
from db.releases import ReleasePending

log = logging.getLogger("tada.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://tada.example.org/problems/"


class ProblemError(Exception):
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers
        self.extra = extra


class NotFound(ProblemError):
    status, title, slug = 404, "Not found", "not-found"


class Unauthorized(ProblemError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(ProblemError):
    status, title, slug = 403, "Forbidden", "forbidden"


class Conflict(ProblemError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(ProblemError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(ProblemError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class InvalidInput(ProblemError):
    status, title, slug = 422, "Invalid input", "invalid-input"


class ServiceUnavailable(ProblemError):
    status, title, slug = 503, "Service unavailable", "service-unavailable"


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return ProblemResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class ProblemResponse(JSONResponse):
    """JSON that survives any echoed input: a lone surrogate from a JSON `\\ud800` escape
    cannot be encoded as UTF-8, so such a body is written with ASCII escapes instead."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    shaped = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        shaped.append(
            {
                "path": "/".join(loc),
                "message": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return shaped


def _summary(errors: list[dict[str, Any]]) -> str:
    parts = [f"{e['path'] or 'body'}: {e['message']}" for e in errors[:5]]
    more = len(errors) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


# PostgreSQL: undefined_table, undefined_column; SQLite says it in words.
_MISSING_SCHEMA_CODES = {"42P01", "42703"}


def _is_missing_schema(exc: OperationalError | ProgrammingError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _MISSING_SCHEMA_CODES:
        return True
    message = str(exc.orig)
    return message.startswith("no such table") or message.startswith("no such column")


def _allowed_methods(request: Request) -> list[str]:
    from api.route_walk import iter_routes

    documented: set[str] = set()
    hidden: set[str] = set()  # e.g. a GET kept only to explain that it is a 404
    for route in iter_routes(request.app.router.routes):
        if route.methods and route.path_regex.match(request.scope["path"]):
            if getattr(route, "include_in_schema", True):
                documented |= route.methods
            else:
                hidden |= route.methods
    methods = documented or hidden
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def curation_problem(exc: curation.CurationError) -> ProblemError:
    """The problem a refused curator write answers with (`db.curation`'s error tree)."""
    if isinstance(exc, curation.RevisionMismatch):
        return PreconditionFailed(
            f"The record changed since you read it (it is now at revision {exc.current}); "
            "reload it and apply your change again.",
            current_revision=exc.current,
        )
    if isinstance(exc, curation.RecordExists | curation.RecordInUse):
        return Conflict(str(exc))
    if isinstance(exc, curation.InvalidRecord):
        return InvalidInput(str(exc), errors=exc.errors or None)
    return NotFound(str(exc))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(curation.CurationError)
    async def _curation(request: Request, exc: curation.CurationError) -> JSONResponse:
        return await _problem(request, curation_problem(exc))

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            slug=exc.slug,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                400,
                "Malformed JSON",
                "The request body is not valid JSON: " + _summary(errors),
                slug="malformed-json",
                instance=request.url.path,
                errors=errors,
            )
        return problem_response(
            422,
            "Invalid input",
            _summary(errors),
            slug="invalid-input",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.url.path}; see /docs for the API"
        if exc.status_code == 405:
            # Starlette names only the first route matching the path; a path may have several
            # (GET and PATCH on a record come from two routes).
            allowed = _allowed_methods(request)
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            detail = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
        return problem_response(
            exc.status_code,
            titles.get(exc.status_code, "HTTP error"),
            detail,
            slug=f"http-{exc.status_code}",
            instance=request.url.path,
            headers=headers,
        )

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        # A concurrent writer changed the record between our If-Match check and our update:
        # the same situation as a stale If-Match, so the same answer.
        return problem_response(
            412,
            "Precondition failed",
            "Someone else changed this record while you were editing it; reload it and apply "
            "your change again.",
            slug="precondition-failed",
            instance=request.url.path,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error on %s: %s", request.url.path, exc.orig)
        return problem_response(
            409,
            "Conflict",
            "The change conflicts with the catalog (a duplicate id, a reference still in use, "
            "or a concurrent change); nothing was written.",
            slug="conflict",
            instance=request.url.path,
        )

    def _busy(request: Request, why: str) -> JSONResponse:
        return problem_response(
            503,
            "Service unavailable",
            f"{why}; nothing was written. Try again shortly.",
            slug="service-unavailable",
            instance=request.url.path,
            headers={"Retry-After": "1"},
        )

    def _no_schema(request: Request) -> JSONResponse:
        return problem_response(
            503,
            "Service unavailable",
            "The database has no TADA schema, or an older one: the operator must run "
            "`tada db upgrade` (or restart `tada serve`, which migrates). Nothing was written.",
            slug="schema-missing",
            instance=request.url.path,
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        if _is_missing_schema(exc):
            log.error("database schema missing on %s: %s", request.url.path, exc.orig)
            return _no_schema(request)
        log.warning("database unavailable on %s: %s", request.url.path, exc.orig)
        return _busy(request, "The database is busy or unreachable")

    @app.exception_handler(ReleasePending)
    async def _release_pending(request: Request, exc: ReleasePending) -> JSONResponse:
        # Recording a waiting release failed (logged where it failed): a catalog change or a
        # read of that release waits for it.
        return _busy(request, f"{exc}. Recording it failed just now")

    @app.exception_handler(ProgrammingError)
    async def _programming(request: Request, exc: ProgrammingError) -> JSONResponse:
        if _is_missing_schema(exc):
            log.error("database schema missing on %s: %s", request.url.path, exc.orig)
            return _no_schema(request)
        return await _unexpected(request, exc)

    @app.exception_handler(PoolTimeoutError)
    async def _pool_timeout(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        log.warning("no database connection free on %s", request.url.path)
        return _busy(request, "The service is busy (no database connection was free in time)")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        log.info("data error on %s: %s", request.url.path, exc.orig)
        return problem_response(
            422,
            "Invalid input",
            "A value in the request cannot be used by the database (for example a NUL "
            "character or a number out of range); nothing was written.",
            slug="invalid-input",
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(
            500,
            "Internal error",
            "An unexpected error occurred; it has been logged. Nothing was written.",
            slug="internal-error",
            instance=request.url.path,
        )
