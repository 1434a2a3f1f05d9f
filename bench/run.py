"""TADA benchmark: the scoring service against a bare endpoint of the same app, side by side.

    python bench/run.py                 # all sections, figures to stdout and bench/results/
    python bench/run.py --quick         # shorter runs, for a smoke check

It starts `tada serve` (uvicorn, one worker) on a fresh SQLite database on 127.0.0.1, with the
bare echo endpoint switched on (TADA_BENCH_ENDPOINTS=1), and measures:

1. `POST /v1/score` vs `POST /bench/echo` with a body of the same size: requests/s and
   p50/p99 latency under a fixed concurrency (wrk when installed, else a bounded httpx loop);
2. the engine alone, in process: cases/s on one core;
3. a 10,000-case `POST /v1/score/batch`: seconds to the last line;
4. the CDS Hooks `patient-view` service with a ~20-resource prefetch vs the echo endpoint
   with the same body (when the CDS service is present);
5. the service's resident memory after the runs.

Targets (issue #3, #4) are printed next to each figure. Nothing here is a test: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
    "preferences": {"settings": ["home"], "region": "US", "max_annual_cost": None, "urgent": False},
    "weights": {
        "efficacy": 8,
        "safety": 7,
        "convenience": 6,
        "cost": 4,
        "availability": 5,
        "onset": 5,
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_tada(
    workdir: Path, settings: dict[str, str], *, ready_seconds: float = 10
) -> tuple[subprocess.Popen[bytes], str]:
    """`tada serve` on a free 127.0.0.1 port in `workdir` with only the given TADA_* settings
    (the caller's own TADA_* environment is not inherited), once `/readyz` answers 200."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    env.update({"PYTHONPATH": str(ROOT), **settings})
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    server.terminate()
    raise SystemExit("the service did not become ready")


def padded_echo_body(reference: dict[str, Any]) -> bytes:
    """A JSON body for the echo endpoint exactly as long as the reference body."""
    target = len(json.dumps(reference).encode())
    body = {**reference, "_pad": ""}
    overhead = len(json.dumps(body).encode())
    body["_pad"] = "x" * max(0, target - overhead)
    return json.dumps(body).encode()


# ---------------------------------------------------------------------------------------------
# Load generation
# ---------------------------------------------------------------------------------------------


def run_wrk(url: str, body: bytes, *, seconds: int, connections: int) -> dict[str, float]:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    with script:
        script.write(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(body.decode())}\n"
            "done = function(summary, latency, requests)\n"
            '  io.write(string.format("JSON {\\"rps\\": %f, \\"p50\\": %f, \\"p99\\": %f, '
            '\\"errors\\": %d, \\"non2xx\\": %d}\\n", summary.requests / (summary.duration / 1e6), '
            "latency:percentile(50) / 1000, latency:percentile(99) / 1000, "
            "summary.errors.connect + summary.errors.read + summary.errors.write + "
            "summary.errors.timeout, summary.errors.status))\n"
            "end\n"
        )
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    result: dict[str, float] = json.loads(line[5:])
    return result


async def _httpx_load(
    url: str, body: bytes, *, seconds: float, connections: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(
                    url, content=body, headers={"content-type": "application/json"}
                )
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "errors": 0,
        "non2xx": errors,
    }


def load(url: str, body: bytes, *, seconds: int, connections: int) -> dict[str, float]:
    if shutil.which("wrk"):
        return run_wrk(url, body, seconds=seconds, connections=connections)
    return asyncio.run(_httpx_load(url, body, seconds=seconds, connections=connections))


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


def engine_alone(database_url: str, *, cases: int) -> dict[str, float]:
    """Cases/s of `scoring.engine.rank` in this process, on one core, over varied cases."""
    from api.schemas.score import ScoreRequest
    from api.scoring_io import case_from_request
    from db.session import make_engine, make_session_factory
    from db.snapshot import load_snapshot
    from scoring.engine import rank

    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        snapshot = load_snapshot(session)
    engine.dispose()
    variants = []
    conditions = [c.id for c in snapshot.conditions]
    for i in range(200):
        request = ScoreRequest.model_validate(
            {
                **SCORE_CASE,
                "condition": conditions[i % len(conditions)],
                "patient": {
                    **SCORE_CASE["patient"],
                    "age_years": 5 + i % 80,
                    "egfr": 15 + i % 90,
                    "risk_factors": [] if i % 3 else ["thrombosis_history"],
                },
                "preferences": {**SCORE_CASE["preferences"], "urgent": bool(i % 2)},
            }
        )
        variants.append(case_from_request(request, snapshot))
    started = time.perf_counter()
    for i in range(cases):
        case, preferences, weights = variants[i % len(variants)]
        rank(snapshot, case, preferences, weights)
    elapsed = time.perf_counter() - started
    return {"cases": cases, "seconds": elapsed, "cases_per_second": cases / elapsed}


def batch_run(base: str, *, cases: int) -> dict[str, float]:
    body = json.dumps({"cases": [SCORE_CASE] * cases}).encode()
    started = time.perf_counter()
    lines = 0
    with httpx.stream(
        "POST",
        f"{base}/v1/score/batch",
        content=body,
        headers={"content-type": "application/json"},
        timeout=120,
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line:
                lines += 1
    elapsed = time.perf_counter() - started
    return {"cases": cases, "lines": lines, "seconds": elapsed}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cds_body() -> bytes | None:
    path = ROOT / "bench" / "patient_view_request.json"
    if path.exists():
        return path.read_bytes()
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds

    workdir = Path(tempfile.mkdtemp(prefix="tada-bench-"))
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    server, base = start_tada(
        workdir,
        {
            "TADA_DATABASE_URL": database_url,
            "TADA_BENCH_ENDPOINTS": "1",
            "TADA_CDS_JWT_DISABLED": "1",
            "TADA_LOG_LEVEL": "WARNING",
        },
    )
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_tool": "wrk" if shutil.which("wrk") else "httpx (async, bounded loop)",
        "connections": args.connections,
        "seconds": seconds,
    }
    try:
        score_body = json.dumps(SCORE_CASE).encode()
        echo_body = padded_echo_body(SCORE_CASE)
        check = httpx.post(
            f"{base}/v1/score", content=score_body, headers={"content-type": "application/json"}
        )
        check.raise_for_status()
        # warm-up
        load(f"{base}/v1/score", score_body, seconds=1, connections=args.connections)
        load(f"{base}/bench/echo", echo_body, seconds=1, connections=args.connections)
        results["score"] = load(
            f"{base}/v1/score", score_body, seconds=seconds, connections=args.connections
        )
        results["echo"] = load(
            f"{base}/bench/echo", echo_body, seconds=seconds, connections=args.connections
        )
        results["batch"] = batch_run(base, cases=10_000)

        body = cds_body()
        if body is not None:
            probe = httpx.post(
                f"{base}/cds-services/tada-patient-view",
                content=body,
                headers={"content-type": "application/json"},
            )
            if probe.status_code == 200:
                load(
                    f"{base}/cds-services/tada-patient-view",
                    body,
                    seconds=1,
                    connections=args.connections,
                )
                results["cds_patient_view"] = load(
                    f"{base}/cds-services/tada-patient-view",
                    body,
                    seconds=seconds,
                    connections=args.connections,
                )
                results["cds_echo"] = load(
                    f"{base}/bench/echo", body, seconds=seconds, connections=args.connections
                )
                # One call at a time: the latency a single EHR request sees, without queueing.
                results["cds_patient_view_serial"] = load(
                    f"{base}/cds-services/tada-patient-view", body, seconds=seconds, connections=1
                )
            else:
                results["cds_patient_view"] = {"skipped": f"status {probe.status_code}"}
        results["rss_mb"] = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    results["engine"] = engine_alone(database_url, cases=5_000 if args.quick else 50_000)
    shutil.rmtree(workdir, ignore_errors=True)

    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    return 0


def report(r: dict[str, Any]) -> None:
    score, echo = r["score"], r["echo"]
    rows = [
        (
            "POST /v1/score",
            f"{score['rps']:.0f} req/s, p50 {score['p50']:.2f} ms, p99 {score['p99']:.2f} ms",
            "",
        ),
        (
            "POST /bench/echo (same body size)",
            f"{echo['rps']:.0f} req/s, p50 {echo['p50']:.2f} ms, p99 {echo['p99']:.2f} ms",
            "",
        ),
        ("score / echo throughput", f"{score['rps'] / echo['rps']:.2f}x", ">= 0.8x"),
        ("score p99 / echo p99", f"{score['p99'] / echo['p99']:.2f}x", "<= 2x"),
        (
            "engine alone (one core)",
            f"{r['engine']['cases_per_second']:.0f} cases/s",
            ">= 20,000 cases/s",
        ),
        (
            "10,000-case batch",
            f"{r['batch']['seconds']:.2f} s ({r['batch']['lines']} lines)",
            "<= 2 s",
        ),
        ("service RSS after the runs", f"{r['rss_mb']:.0f} MB", "<= 150 MB"),
    ]
    cds = r.get("cds_patient_view")
    if cds and "rps" in cds:
        cds_echo = r["cds_echo"]
        rows += [
            (
                "CDS patient-view (~20 resources)",
                f"{cds['rps']:.0f} req/s, p50 {cds['p50']:.2f} ms, p99 {cds['p99']:.2f} ms",
                "p99 < 50 ms",
            ),
            (
                "POST /bench/echo (same body)",
                f"{cds_echo['rps']:.0f} req/s, p99 {cds_echo['p99']:.2f} ms",
                "",
            ),
            ("patient-view / echo throughput", f"{cds['rps'] / cds_echo['rps']:.2f}x", ">= 0.7x"),
        ]
        serial = r["cds_patient_view_serial"]
        rows += [
            (
                "CDS patient-view, one call at a time",
                f"p50 {serial['p50']:.2f} ms, p99 {serial['p99']:.2f} ms",
                "p99 < 50 ms",
            ),
        ]
    print(
        f"machine: {r['machine']}; load: {r['load_tool']}, "
        f"{r['connections']} connections, {r['seconds']} s per run"
    )
    print("| measure | figure | target |")
    print("| --- | --- | --- |")
    for name, figure, target in rows:
        print(f"| {name} | {figure} | {target} |")


if __name__ == "__main__":
    raise SystemExit(main())
