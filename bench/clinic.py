"""The clinic page's server time against `POST /v1/score` for the same case, in process.

    python bench/clinic.py [--rounds 2000]

Calls the ASGI app directly (no network, no client library in the timing): `GET /clinic` and
`POST /v1/score` with the CIDP example case, alternating, after a warm-up, and reports the
median and p90 server time of each and their ratio (target: the page <= 2x the score), plus
the size of the page's own JavaScript and CSS (target: under 100 kB). The page's later steps
are built in the browser from the public API's answers (`/v1/score`, `/v1/option-grid`), so
`GET /clinic` is all the server time the page itself adds. Nothing here is a test: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

# The README's CIDP example (as in bench/run.py).
SCORE_CASE: dict[str, Any] = {
    "condition": "cidp",
    "patient": {
        "age_years": 52,
        "weight_kg": 80,
        "egfr": 25,
        "pregnant": False,
        "risk_factors": ["thrombosis_history"],
        "prior_supervised_infusions": 0,
    },
    "preferences": {"settings": ["home"], "region": "US", "urgent": False},
    "weights": {"efficacy": 8, "safety": 7, "convenience": 6, "cost": 4, "availability": 5},
}
Message = dict[str, Any]


async def call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, float]:
    """One request through the ASGI app; (status, seconds from call to the last body part)."""
    status = 0
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    headers = [(b"host", b"127.0.0.1")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    start = time.perf_counter()
    await app(scope, receive, send)
    return status, time.perf_counter() - start


async def measure(app: Any, rounds: int) -> dict[str, list[float]]:
    body = json.dumps(SCORE_CASE).encode()
    runs: dict[str, Callable[[], Awaitable[tuple[int, float]]]] = {
        "GET /clinic": lambda: call(app, "GET", "/clinic"),
        "POST /v1/score": lambda: call(app, "POST", "/v1/score", body),
        "POST /v1/option-grid": lambda: call(app, "POST", "/v1/option-grid", body),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(50):  # warm-up: the snapshot, the rendered page, caches
        for run in runs.values():
            status, _seconds = await run()
            assert status == 200, status
    for _ in range(rounds):
        for name, run in runs.items():
            _status, seconds = await run()
            times[name].append(seconds)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()

    from api.app import create_app
    from api.cli import prepare_database
    from api.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{folder}/bench.db",
            log_level="WARNING",
            warm_up=True,
        )
        prepare_database(settings)
        app = create_app(settings)

        async def run() -> dict[str, list[float]]:
            async with app.router.lifespan_context(app):
                return await measure(app, args.rounds)

        times = asyncio.run(run())
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        p90 = statistics.quantiles(t, n=10)[-1]
        print(f"{name:22} median {medians[name] * 1e6:7.0f} µs   p90 {p90 * 1e6:7.0f} µs")
    ratio = medians["GET /clinic"] / medians["POST /v1/score"]
    print(f"page / score (median): {ratio:.2f}x (target <= 2x)")
    grid = medians["POST /v1/option-grid"] / medians["POST /v1/score"]
    print(f"option grid / score (median): {grid:.2f}x (the page's step 4 calls both)")
    static = files("api") / "static" / "clinic"
    sizes = {
        f.name: len(f.read_bytes()) for f in static.iterdir() if f.name.endswith((".js", ".css"))
    }
    total = sum(sizes.values())
    listed = ", ".join(f"{name} {size / 1000:.1f} kB" for name, size in sorted(sizes.items()))
    print(f"page's own JS + CSS: {total / 1000:.1f} kB ({listed}; target < 100 kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
