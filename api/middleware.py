"""ASGI middleware: CORS, request body size limit and request ids with one structured log line."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_BASE, PROBLEM_JSON
from api.logs import request_id_var

log = logging.getLogger("tada.access")


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413, whether Content-Length says so or the stream does.

    Paths in `overrides` get their own limit (the batch endpoint takes up to 10,000 cases), and
    paths under a `prefixes` key theirs (FHIR and CDS Hooks bodies carry whole records).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        overrides: dict[str, int] | None = None,
        prefixes: dict[str, int] | None = None,
    ):
        self.app = app
        self.limit = limit
        self.overrides = overrides or {}
        self.prefixes = prefixes or {}

    def limit_for(self, path: str) -> int:
        if path in self.overrides:
            return self.overrides[path]
        for prefix, limit in self.prefixes.items():
            if path.startswith(prefix):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        if declared is not None:
            # The server holds the body to its declared length, so it cannot exceed the limit.
            await self.app(scope, receive, send)
            return
        # No length declared (chunked): read up to the limit before the app sees anything, since
        # FastAPI would turn an error raised mid-read into a 400.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await _send_413(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send_413(send: Send, limit: int) -> None:
    await _send_problem(
        send,
        413,
        "Payload too large",
        f"The request body is larger than the limit of {limit} bytes.",
        slug="payload-too-large",
    )


async def _send_problem(send: Send, status: int, title: str, detail: str, *, slug: str) -> None:
    body = json.dumps(
        {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RejectNulMiddleware:
    """400 for a NUL character in the path or query: PostgreSQL cannot compare or store one,
    so without this the same URL would be a 404 on SQLite and a database error on PostgreSQL."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")
        ):
            await _send_problem(
                send,
                400,
                "Bad request",
                "The URL contains a NUL character (%00), which no id or filter can hold.",
                slug="bad-request",
            )
            return
        await self.app(scope, receive, send)


class RequestLogMiddleware:
    """A request id on every response (`X-Request-ID`) and one JSON log line per request.

    The line holds method, path, status and duration only: never bodies, tokens or keys.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answer here, inside the request id and keep-alive: Starlette's outermost error
            # middleware would answer without the id and the server would drop the connection.
            log.exception("unexpected error on %s", scope["path"])
            if response_started:
                raise  # half a response is out; only closing the connection is honest
            await _send_problem(
                send_with_id,
                500,
                "Internal error",
                "An unexpected error occurred; it has been logged. Nothing was written.",
                slug="internal-error",
            )
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)


class CorsMiddleware:
    """Starlette's `CORSMiddleware` for requests that carry an `Origin` header; for the others
    (server-to-server calls: an EHR, a script) only the `Vary: Origin` it would add.

    Starlette's middleware parses the headers and wraps the response of every request, with
    or without an origin: 10 % of a `/v1/score` request's time (bench/profile_score.py).
    Without an `Origin` header it adds nothing but `Vary: Origin`, which is all this does.
    """

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(
            name == b"origin" for name, _ in scope.get("headers") or ()
        ):
            await self.cors(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"vary"]
                vary = [v for k, v in message.get("headers", ()) if k.lower() == b"vary"]
                headers.append((b"vary", b", ".join([*vary, b"Origin"])))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_vary)
