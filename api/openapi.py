"""The OpenAPI document, made to tell the truth about errors.

FastAPI documents a route's success answer and a 422 in its own JSON shape. TADA's routes can
also answer 400 (malformed JSON, a NUL in the URL), 401/403 (keys and roles), 404, 409, 412/428
(`If-Match`), 413 (body too large) and 503 (database unavailable or without schema), all as
`application/problem+json`. Which of those a route can return follows from what it is made of
(a body, path parameters, an auth dependency, an `If-Match` header), so this module derives
them from the routes themselves instead of repeating `responses=` on every route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.errors import PROBLEM_JSON
from api.route_walk import iter_routes
from api.schemas.problem import Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

DESCRIPTIONS = {
    400: "Malformed JSON, or a NUL character in the URL",
    401: "No valid API key (or CDS Hooks JWT) where one is needed",
    403: "The key's role does not allow this",
    404: "No such record (or an unknown condition or therapy id)",
    409: "Conflicts with the catalog (a duplicate id, or a record still referenced)",
    412: "The record changed since the ETag in If-Match; the current revision is in the body",
    413: "The request body is larger than the limit",
    422: "Invalid input; `errors[]` gives each field's path and message",
    428: "If-Match is required (the ETag from your last read)",
    503: "The database is unavailable, busy, or has no schema; retry after Retry-After",
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _statuses(route: APIRoute, method: str) -> set[int]:
    from api.cds import jwt
    from api.deps import reader, scoring_context

    # The CDS Hooks JWT check answers 401 too (looked up by name: it lives with the CDS code).
    authenticate = getattr(jwt, "authenticate", reader)
    calls = list(_calls(route.dependant))
    statuses = {400}  # a NUL in the URL, on any route
    if route.path != "/healthz":
        statuses.add(503)
    if route.dependant.body_params:
        statuses |= {413, 422}
    if route.dependant.path_params or route.dependant.query_params:
        statuses.add(422)
    if route.dependant.path_params or (
        route.dependant.body_params and route.path.startswith("/v1/")
    ):
        statuses.add(404)  # a record in the path, or a condition/therapy named in the body
    if any(call in (reader, scoring_context, authenticate) for call in calls):
        statuses.add(401)
    if any(getattr(call, "tada_role", None) for call in calls):
        statuses |= {401, 403}
        if method in ("POST", "DELETE", "PATCH"):
            statuses.add(409)
    if any(p.alias.lower() == "if-match" for p in route.dependant.header_params):
        statuses |= {412, 428}
    return statuses


def _problem(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or DESCRIPTIONS[status],
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
    }


def _document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for route in iter_routes(app.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            _document_operation(route, method, operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _document_operation(route: APIRoute, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in sorted(_statuses(route, method)):
        current = responses.get(str(status))
        declared = route.responses.get(status) or route.responses.get(str(status))
        if current is None or status == 422 or (declared and "content" not in declared):
            responses[str(status)] = _problem(status, (declared or {}).get("description"))
        elif "content" in current and "application/json" in current["content"]:
            # A `model=Problem` declared on the route: the media type is problem+json.
            content = current["content"].pop("application/json")
            current["content"][PROBLEM_JSON] = content
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
            parameter["required"] = True  # missing is a 428, so it is required in truth
            parameter["schema"] = {"type": "string", "title": "If-Match"}
    security = operation.get("security")
    if security and _optional_key(route):
        operation["security"] = [{}, *security]  # reads take a key but do not need one


def _optional_key(route: APIRoute) -> bool:
    from api.deps import reader

    return any(call is reader for call in _calls(route.dependant))


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
