"""The cost of an explained answer: `/v1/score` against a bare app's echo and same-size answer.

    python bench/answer_cost.py [--seconds 10] [--connections 16] [--rounds 3]

Side by side in one run, one uvicorn worker each: `tada serve` (fresh SQLite, seed catalog) and
`bench/ceiling.py` (a bare FastAPI app in its own process). The same CIDP score request is
posted to `POST /v1/score`, to the bare `POST /echo` (a small dict back) and to the bare
`POST /answer` (the pre-encoded bytes of TADA's own answer to this request, so the same size).
The three are run in turn, `--rounds` times, and each one's best round is kept.
Targets (issue #14): score >= 0.5x the same-size answer's throughput; score p99 <= 2x the echo's.
Nothing here is a test: it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from run import ROOT, SCORE_CASE, free_port, load


def wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"{url} did not answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tada-answer-cost-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    env.update(
        {
            "TADA_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "TADA_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    tada_port, bare_port = free_port(), free_port()
    tada = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(tada_port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    servers = [tada]
    body = json.dumps(SCORE_CASE).encode()
    tada_base = f"http://127.0.0.1:{tada_port}"
    bare_base = f"http://127.0.0.1:{bare_port}"
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "seconds": args.seconds,
        "connections": args.connections,
    }
    try:
        wait_ready(f"{tada_base}/healthz", tada)
        for _ in range(100):
            if httpx.get(f"{tada_base}/readyz", timeout=5).status_code == 200:
                break
            time.sleep(0.1)
        answer = httpx.post(f"{tada_base}/v1/score", json=SCORE_CASE, timeout=10)
        answer.raise_for_status()
        answer_file = workdir / "answer.json"
        answer_file.write_bytes(answer.content)
        results["answer_bytes"] = len(answer.content)
        bare = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(ROOT / "bench"),
                "ceiling:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(bare_port),
                "--workers",
                "1",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=workdir,
            env={**env, "TADA_BENCH_ANSWER_FILE": str(answer_file)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append(bare)
        wait_ready(f"{bare_base}/docs", bare)
        same = httpx.post(f"{bare_base}/answer", json=SCORE_CASE, timeout=10)
        assert same.content == answer.content, "the ceiling must send TADA's own bytes"
        targets = {
            "score": f"{tada_base}/v1/score",
            "echo": f"{bare_base}/echo",
            "answer": f"{bare_base}/answer",
        }
        for url in targets.values():  # warm-up
            load(url, body, seconds=1, connections=args.connections)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, url in targets.items():
                runs[name].append(
                    load(url, body, seconds=args.seconds, connections=args.connections)
                )
        for name, measured in runs.items():
            results[name] = max(measured, key=lambda r: r["rps"])
            results[f"{name}_rounds"] = measured
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "answer_cost.json").write_text(json.dumps(results, indent=2))
    return 0


def report(r: dict[str, Any]) -> None:
    score, echo, answer = r["score"], r["echo"], r["answer"]
    print(
        f"machine: {r['machine']}; load average at start {r['load_average']}; "
        f"{r['connections']} connections, {r['seconds']} s per run, best of the rounds"
    )
    print("| measure | figure | target |")
    print("| --- | --- | --- |")
    for name, label in (
        ("score", f"POST /v1/score (answer {r['answer_bytes']} bytes)"),
        ("echo", "bare app: POST /echo (small dict back)"),
        ("answer", "bare app: POST /answer (TADA's answer, pre-encoded)"),
    ):
        m = r[name]
        print(f"| {label} | {m['rps']:.0f} req/s, p50 {m['p50']:.2f} ms, p99 {m['p99']:.2f} ms | |")
    print(
        f"| score / same-size answer throughput | {score['rps'] / answer['rps']:.2f}x | >= 0.5x |"
    )
    print(f"| score / echo throughput | {score['rps'] / echo['rps']:.2f}x | |")
    print(f"| score p99 / echo p99 | {score['p99'] / echo['p99']:.2f}x | <= 2x |")


if __name__ == "__main__":
    raise SystemExit(main())
