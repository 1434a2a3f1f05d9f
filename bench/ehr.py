"""TADA EHR-intake benchmark: CDS Hooks and FHIR intake on real-world data (issue 11).

    python bench/ehr.py                 # figures to stdout and bench/results/ehr-latest.json
    python bench/ehr.py --quick         # shorter runs, for a smoke check

It starts `tada serve` (uvicorn, one worker) on a fresh SQLite database on 127.0.0.1 with the
bare echo endpoint on (TADA_BENCH_ENDPOINTS=1), like `bench/run.py`, and measures:

Each section runs twice: with the R4B validation verdict cache on (the default; EHRs resend the
same resources) and off (every resource validated on every call).

1. `patient-view` with the Synthea patient (../shared/fixtures/synthea-cidp-patient.json.gz) as
   prefetch: each template run against its resources, every page inline, no fhirServer; one
   call at a time (the latency one EHR request sees). Target: p50 <= 30 ms.
2. `patient-view` with the 26-resource prefetch (`bench/patient_view_request.json`) against
   the echo endpoint with the same body, 16 connections. Target: >= 0.5x the echo throughput.
3. `POST /v1/fhir/score` with the Synthea Bundle as sent (1.1 MB, 844 entries), one at a time.

Nothing here is a test: it reports.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from run import load, start_tada  # noqa: E402
from support.fhir_server import PagingFhirServer  # noqa: E402

SYNTHEA = ROOT.parent / "shared" / "fixtures" / "synthea-cidp-patient.json.gz"
PATIENT_ID = "7217c081-64cf-4e6c-b023-05c2e2dcf50c"


def synthea_patient_view(base: str) -> bytes:
    """A patient-view body whose prefetch is every template run against the Synthea record."""
    bundle = json.loads(gzip.decompress(SYNTHEA.read_bytes()))
    store = [e["resource"] for e in bundle["entry"]]
    full_urls = {id(e["resource"]): e["fullUrl"] for e in bundle["entry"]}
    services = httpx.get(f"{base}/cds-services").json()["services"]
    templates = next(s["prefetch"] for s in services if s["id"] == "tada-patient-view")
    with PagingFhirServer(store, page_size=10_000, full_urls=full_urls) as server:
        prefetch = {k: server.first_page(t, PATIENT_ID) for k, t in templates.items()}
    body = {
        "hook": "patient-view",
        "hookInstance": "3f0a8c1e-1111-4d2b-9c3a-000000000001",
        "context": {"userId": "Practitioner/bench", "patientId": PATIENT_ID},
        "prefetch": prefetch,
    }
    return json.dumps(body).encode()


def start(workdir: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    settings = {
        "TADA_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "TADA_BENCH_ENDPOINTS": "1",
        "TADA_CDS_JWT_DISABLED": "1",
        "TADA_LOG_LEVEL": "ERROR",
        **env_extra,
    }
    return start_tada(workdir, settings, ready_seconds=30)


def measure(base: str, *, seconds: int, connections: int) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    view = f"{base}/cds-services/tada-patient-view"
    out: dict[str, Any] = {}
    synthea_view = synthea_patient_view(base)
    probe = httpx.post(view, content=synthea_view, headers=headers, timeout=30)
    probe.raise_for_status()
    out["synthea_cards"] = len(probe.json()["cards"])
    out["synthea_view_bytes"] = len(synthea_view)
    load(view, synthea_view, seconds=1, connections=1)
    out["synthea_patient_view_serial"] = load(view, synthea_view, seconds=seconds, connections=1)

    small = (ROOT / "bench" / "patient_view_request.json").read_bytes()
    httpx.post(view, content=small, headers=headers).raise_for_status()
    load(view, small, seconds=1, connections=connections)
    load(f"{base}/bench/echo", small, seconds=1, connections=connections)
    out["patient_view_26"] = load(view, small, seconds=seconds, connections=connections)
    out["echo_26"] = load(f"{base}/bench/echo", small, seconds=seconds, connections=connections)

    bundle = gzip.decompress(SYNTHEA.read_bytes())
    score = f"{base}/v1/fhir/score"
    httpx.post(score, content=bundle, headers=headers, timeout=30).raise_for_status()
    out["synthea_fhir_score_serial"] = load(score, bundle, seconds=seconds, connections=1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    if not SYNTHEA.is_file():
        print(f"missing {SYNTHEA}", file=sys.stderr)
        return 1
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_tool": "wrk" if shutil.which("wrk") else "httpx (async, bounded loop)",
        "connections": args.connections,
        "seconds": seconds,
    }
    # Warm: the validation verdict cache on (the default; an EHR resends the same resources).
    # Cold: the cache off, so every resource is validated on every call.
    for name, extra in (("warm", {}), ("cold", {"TADA_FHIR_VALIDATION_CACHE_SIZE": "0"})):
        workdir = Path(tempfile.mkdtemp(prefix="tada-bench-ehr-"))
        server, base = start(workdir, extra)
        try:
            results[name] = measure(base, seconds=seconds, connections=args.connections)
        finally:
            server.terminate()
            server.wait(timeout=10)
            shutil.rmtree(workdir, ignore_errors=True)

    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "ehr-latest.json").write_text(json.dumps(results, indent=2))
    return 0


def report(results: dict[str, Any]) -> None:
    print(
        f"{results['machine']}; load: {results['load_tool']}, "
        f"{results['connections']} connections, {results['seconds']} s a run"
    )
    for name in ("warm", "cold"):
        r = results[name]
        serial = r["synthea_patient_view_serial"]
        view, echo = r["patient_view_26"], r["echo_26"]
        score = r["synthea_fhir_score_serial"]
        kb = r["synthea_view_bytes"] // 1000
        rows = [
            (
                f"patient-view, Synthea prefetch ({kb} kB), one at a time",
                f"p50 {serial['p50']:.2f} ms, p99 {serial['p99']:.2f} ms",
                "p50 <= 30 ms",
            ),
            (
                "patient-view, 26-resource prefetch",
                f"{view['rps']:.0f} req/s, p50 {view['p50']:.2f} ms, p99 {view['p99']:.2f} ms",
                "",
            ),
            (
                "POST /bench/echo, same body",
                f"{echo['rps']:.0f} req/s, p99 {echo['p99']:.2f} ms",
                "",
            ),
            ("patient-view / echo throughput", f"{view['rps'] / echo['rps']:.2f}x", ">= 0.5x"),
            (
                "POST /v1/fhir/score, Synthea Bundle (1.1 MB), one at a time",
                f"p50 {score['p50']:.2f} ms, p99 {score['p99']:.2f} ms",
                "",
            ),
        ]
        print(f"-- validation verdict cache {'on' if name == 'warm' else 'off'} ({name})")
        for row, value, target in rows:
            print(f"{row:<62} {value:<48} {target}")


if __name__ == "__main__":
    raise SystemExit(main())
