"""Where a `POST /v1/score` request's time goes, end to end, in one process.

    python bench/profile_score.py [--requests 3000] [--top 25] [--path /v1/option-grid]

Builds TADA's app on a fresh seeded SQLite database and calls it through ASGI directly (no
network, no load tool: the server's own work only), first to time a request (µs, the median of
five rounds), then under cProfile, and prints the top entries by cumulative and by own time.
The request is bench/run.py's CIDP case, to `/v1/score` unless `--path` names another
route that takes a score request (`/v1/option-grid`). Nothing here is a test: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import ROOT, SCORE_CASE

sys.path.insert(0, str(ROOT))


def make_app(workdir: Path) -> Any:
    from api.app import create_app
    from api.settings import Settings
    from db.catalog_file import SEED_CATALOG, load_catalog_file
    from db.catalog_io import replace_catalog
    from db.migrations import upgrade
    from db.session import make_engine, make_session_factory

    url = f"sqlite:///{workdir / 'profile.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        replace_catalog(session, load_catalog_file(SEED_CATALOG), actor="bench", summary="seed")
        session.commit()
    engine.dispose()
    os.environ["TADA_LOG_LEVEL"] = "WARNING"
    return create_app(Settings(database_url=url, log_level="WARNING"))


async def call(app: Any, path: str, body: bytes) -> tuple[int, int]:
    """One request through the ASGI app: (status, response bytes)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0
    size = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    return status, size


async def run(app: Any, requests: int, top: int, path: str) -> None:
    body = json.dumps(SCORE_CASE).encode()
    status, size = await call(app, path, body)
    assert status == 200, status
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(requests):
            await call(app, path, body)
        rounds.append((time.perf_counter() - started) / requests * 1e6)
    print(f"answer: {size} bytes; server time per request: {statistics.median(rounds):.0f} µs")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        await call(app, path, body)
    profiler.disable()
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(top)
        print(f"--- top {top} by {key} ({requests} requests) ---")
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        print("\n".join(lines[start:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--path", default="/v1/score")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tada-profile-") as workdir:
        app = make_app(Path(workdir))

        async def main_async() -> None:
            async with app.router.lifespan_context(app):
                await run(app, args.requests, args.top, args.path)

        asyncio.run(main_async())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
