"""Operations benchmark: score latency while curators write, and concurrent writers refused.

    python bench/ops.py                                   # fresh SQLite database
    python bench/ops.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/tada_bench

The PostgreSQL database should be empty (or a TADA database you can spare): `tada serve`
migrates and seeds it. Measures, against one `tada serve` process:
1. `POST /v1/score` p50/p99 with no writes (wrk, or the httpx loop of bench/run.py);
2. the same while 4 curators each change a different source once a second (target: p99 at most
   2x idle), and how many of those writes were refused;
3. 100 writes as 5 rounds of 20 curators writing 20 different records at the same moment
   (target: 0 refused).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from run import ROOT, SCORE_CASE, free_port, load

CURATORS = 4
CONCURRENT_WRITERS = 20
ROUNDS = 5


def make_key(database_url: str) -> str:
    from db.keys import create_key
    from db.session import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            issued = create_key(session, name="bench", role="curator")
            session.commit()
            return issued.key
    finally:
        engine.dispose()


class Curator(threading.Thread):
    """Changes its own source once a second until stopped; counts refused writes."""

    def __init__(self, base: str, key: str, source_id: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.key, self.source_id, self.stop = base, key, source_id, stop
        self.written = 0
        self.refused = 0

    def run(self) -> None:
        headers = {"X-API-Key": self.key}
        with httpx.Client(base_url=self.base, timeout=30, headers=headers) as client:
            created = client.post(
                "/v1/sources",
                json={"id": self.source_id, "citation": "bench 0", "kind": "other"},
            )
            revision = int(created.json()["revision"])
            n = 0
            while not self.stop.wait(1.0):
                n += 1
                response = client.patch(
                    f"/v1/sources/{self.source_id}",
                    json={"citation": f"bench {n}"},
                    headers={"If-Match": f'"{revision}"'},
                )
                if response.status_code == 200:
                    self.written += 1
                    revision = int(response.json()["revision"])
                else:
                    self.refused += 1


def concurrent_writes(base: str, key: str) -> dict[str, int]:
    statuses: list[int] = []
    with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": key}) as client:
        for round_ in range(ROUNDS):
            barrier = threading.Barrier(CONCURRENT_WRITERS)

            def write(n: int, round_: int = round_, barrier: threading.Barrier = barrier) -> int:
                source = {"id": f"bench-r{round_}-w{n}", "citation": "x", "kind": "other"}
                barrier.wait()
                return client.post("/v1/sources", json=source).status_code

            with ThreadPoolExecutor(max_workers=CONCURRENT_WRITERS) as pool:
                statuses += list(pool.map(write, range(CONCURRENT_WRITERS)))
    return {
        "writes": len(statuses),
        "accepted": sum(1 for s in statuses if s == 201),
        "refused": sum(1 for s in statuses if s != 201),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tada-ops-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    sys.path.insert(0, str(ROOT))
    from db.migrations import upgrade

    upgrade(database_url)
    key = make_key(database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    env.update(
        {"TADA_DATABASE_URL": database_url, "TADA_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: dict[str, Any] = {"database": database_url.split(":")[0]}
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            print("the service did not become ready", file=sys.stderr)
            return 1
        score = f"{base}/v1/score"
        body = json.dumps(SCORE_CASE).encode()
        load(score, body, seconds=2, connections=args.connections)  # warm-up
        results["idle"] = load(score, body, seconds=args.seconds, connections=args.connections)

        stop = threading.Event()
        curators = [Curator(base, key, f"bench-curator-{n}", stop) for n in range(CURATORS)]
        for curator in curators:
            curator.start()
        time.sleep(1.5)
        results["writing"] = load(score, body, seconds=args.seconds, connections=args.connections)
        stop.set()
        for curator in curators:
            curator.join(timeout=60)
        results["curator_writes"] = sum(c.written for c in curators)
        results["curator_refused"] = sum(c.refused for c in curators)
        results["concurrent"] = concurrent_writes(base, key)
    finally:
        server.terminate()
        server.wait(timeout=30)
    idle, busy = results["idle"], results["writing"]
    print(
        f"database: {results['database']}; load: {args.connections} connections, {args.seconds} s"
    )
    print("| measure | figure | target |")
    print("| --- | --- | --- |")
    print(f"| score, idle | p50 {idle['p50']:.2f} ms, p99 {idle['p99']:.2f} ms |  |")
    print(
        f"| score, {CURATORS} curators writing 1/s | p50 {busy['p50']:.2f} ms, "
        f"p99 {busy['p99']:.2f} ms ({busy['p99'] / idle['p99']:.2f}x idle) | <= 2x idle |"
    )
    print(
        f"| curator writes during the run | {results['curator_writes']} accepted, "
        f"{results['curator_refused']} refused | 0 refused |"
    )
    concurrent = results["concurrent"]
    print(
        f"| {CONCURRENT_WRITERS} writers at once on different records, x{ROUNDS} | "
        f"{concurrent['accepted']} of {concurrent['writes']} accepted, "
        f"{concurrent['refused']} refused | 0 refused |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
