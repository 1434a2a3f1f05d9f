"""Every route of the app, whatever way FastAPI nests included routers.

Recent FastAPI versions keep an included router as one lazy entry in `app.routes` (with the
router in `original_router`) instead of copying its routes; older ones copy them. The OpenAPI
post-processing and the 405 `Allow` header both need the flat list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from starlette.routing import BaseRoute, Route


def iter_routes(routes: Iterable[BaseRoute]) -> Iterator[Route]:
    for route in routes:
        if isinstance(route, Route):
            yield route
            continue
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from iter_routes(nested.routes)
