"""A direct way through for the hot JSON routes, with FastAPI's own handler for everything else.

FastAPI answers a request by reading the body, parsing it with the standard library, solving
the dependency graph (one `await` and one parameter pass per dependency) and then calling the
endpoint; for `POST /v1/score` that framework work cost about as much as the scoring itself
(bench/profile_score.py). A route made with `DirectRoute` whose endpoint carries a `direct`
function tries that function first: it reads the common request (a JSON body, no query) in one
step and answers it. When it returns None (another content type, a query string, a body that
does not validate...) the request goes to the handler FastAPI built from the endpoint's
signature, unchanged. So the OpenAPI document, the 422 bodies and every unusual request are
FastAPI's as before, and the direct function only has to get the usual request right:
`tests/api/test_direct_routes.py` holds the two ways to the same bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

Direct = Callable[[Request], Awaitable[Response | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Model = TypeVar("Model", bound=BaseModel)


def direct(way: Direct) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint of a `DirectRoute` router with its direct way through."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.direct = way  # type: ignore[attr-defined]  # read by DirectRoute
        return endpoint

    return mark


class DirectRoute(APIRoute):
    """An `APIRoute` that tries its endpoint's `direct` function before FastAPI's handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()
        way: Direct | None = getattr(self.endpoint, "direct", None)
        if way is None:
            return standard

        async def handler(request: Request) -> Response:
            response = await way(request)
            if response is None:
                return await standard(request)
            return response

        return handler


async def json_body(request: Request, model: type[Model]) -> Model | None:
    """The body as `model` when the request is the usual one, else None (FastAPI decides).

    Usual: `Content-Type: application/json` exactly, no query string, a body that parses and
    validates. orjson refuses what the standard library's parser would accept differently
    (NaN, lone surrogates, integers past 64 bits): those requests take FastAPI's way.
    """
    scope = request.scope
    if scope["query_string"]:
        return None
    content_type = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
            break
    if content_type != b"application/json":
        return None
    raw = await request.body()
    if not raw:
        return None
    try:
        return model.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError):
        return None
