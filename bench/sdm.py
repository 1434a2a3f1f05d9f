"""Shared-decision-making benchmark (issue 12): grid, PDF summary, replay, curator writes.

    python bench/sdm.py            # all sections
    python bench/sdm.py --quick    # shorter runs
    python bench/sdm.py --pdf-only # the PDF summary only (the clinic case and the matrix)

1. `POST /v1/option-grid` vs `POST /v1/score` with the same body, under the same load
   (wrk when installed, else a bounded httpx loop): p50/p99 and their ratio (target: grid p99
   within 2x of score p99);
2. `POST /v1/summary` with `Accept: application/pdf`, one request at a time (target: < 1 s):
   the clinic case, then every condition of the seed at ages 8 and 45 with treatment history
   unknown and none (the matrix the tests print), each case a few times: the worst case and the
   p50 over the cases' medians (`--pdf-only` runs just this section);
3. `POST /v1/decisions/{id}/replay` on an old release: the first call (which rebuilds the
   release) and then one at a time (target: < 100 ms after the first load);
4. a curator write (one availability status) on a 10,000-therapy catalog, in process, with
   release recording on and off, interleaved (target: the same cost).

It starts `tada serve` on a fresh SQLite database, as `bench/run.py` does. Nothing here is a
test: it reports.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import ROOT, SCORE_CASE, load, start_tada  # noqa: E402

CLINIC_CASE: dict[str, Any] = {
    **SCORE_CASE,
    "patient": {**SCORE_CASE["patient"], "prior_treatments": []},
}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p99": ordered[max(int(len(ordered) * 0.99) - 1, 0)],
        "max": ordered[-1],
    }


def _timed(call: Callable[[], httpx.Response], times: int) -> dict[str, float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return _percentiles(samples)


@contextmanager
def server(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    settings = {
        "TADA_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "TADA_LOG_LEVEL": "WARNING",
    }
    process, base = start_tada(workdir, settings, ready_seconds=20)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    env.update({"PYTHONPATH": str(ROOT), **settings})
    try:
        yield base, env
    finally:
        process.terminate()
        process.wait(timeout=30)


def _key(env: dict[str, str], workdir: Path, role: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "keys", "create", "--role", role, "--name", "bench"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def grid_vs_score(base: str, *, seconds: int, connections: int) -> dict[str, Any]:
    body = json.dumps(CLINIC_CASE).encode()
    for path in ("/v1/score", "/v1/option-grid"):
        httpx.post(base + path, content=body, headers={"content-type": "application/json"})
        load(base + path, body, seconds=1, connections=connections)  # warm-up
    score = load(f"{base}/v1/score", body, seconds=seconds, connections=connections)
    grid = load(f"{base}/v1/option-grid", body, seconds=seconds, connections=connections)
    return {"score": score, "grid": grid, "p99_ratio": grid["p99"] / score["p99"]}


def pdf_summary(base: str, *, times: int) -> dict[str, Any]:
    body = {**CLINIC_CASE, "chosen_therapy_id": None, "note": "Bench."}
    headers = {"accept": "application/pdf"}
    with httpx.Client(timeout=30) as client:
        first = client.post(f"{base}/v1/summary", json=body, headers=headers)
        first.raise_for_status()
        return {
            "bytes": len(first.content),
            "serial_ms": _timed(
                lambda: client.post(f"{base}/v1/summary", json=body, headers=headers), times
            ),
        }


def pdf_cases(conditions: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every condition at ages 8 and 45, history unknown and none: the tests' matrix."""
    for condition in conditions:
        for age in (8, 45):
            for history in ("unknown", "none"):
                patient: dict[str, Any] = {"age_years": age}
                if history == "none":
                    patient["prior_treatments"] = []
                body = {"condition": condition, "patient": patient}
                yield f"{condition} {age} y, {history}", body


def pdf_matrix(base: str, *, times: int) -> dict[str, Any]:
    """Each case of the matrix `times` times, one request at a time; per case the median."""
    headers = {"accept": "application/pdf"}
    load_before = os.getloadavg()
    cases: list[dict[str, Any]] = []
    with httpx.Client(timeout=60) as client:
        conditions = [c["id"] for c in client.get(f"{base}/v1/conditions").json()["items"]]
        for name, body in pdf_cases(conditions):
            options = len(client.post(f"{base}/v1/score", json=body).json()["ranked"])
            samples = []
            for _ in range(times):
                started = time.perf_counter()
                response = client.post(f"{base}/v1/summary", json=body, headers=headers)
                samples.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            cases.append(
                {
                    "case": name,
                    "options": options,
                    "bytes": len(response.content),
                    "median_ms": statistics.median(samples),
                    "max_ms": max(samples),
                }
            )
    medians = [case["median_ms"] for case in cases]
    worst = max(cases, key=lambda case: case["median_ms"])
    return {
        "cases": len(cases),
        "times_each": times,
        "p50_ms": statistics.median(medians),
        "worst": worst,
        "slowest_call_ms": max(case["max_ms"] for case in cases),
        "under_1s": sum(case["max_ms"] < 1000 for case in cases),
        "load_average_1min": [load_before[0], os.getloadavg()[0]],
        "by_case": sorted(cases, key=lambda case: -case["median_ms"]),
    }


def replay_old_release(
    base: str, env: dict[str, str], workdir: Path, *, times: int
) -> dict[str, Any]:
    clinician = {"X-API-Key": _key(env, workdir, "clinician")}
    curator = {"X-API-Key": _key(env, workdir, "curator")}
    with httpx.Client(timeout=30) as client:
        ranked = client.post(f"{base}/v1/score", json=CLINIC_CASE).json()["ranked"]
        created = client.post(
            f"{base}/v1/decisions",
            json={
                "request": CLINIC_CASE,
                "status": "decided",
                "chosen_therapy_id": ranked[0]["therapy_id"],
            },
            headers=clinician,
        )
        created.raise_for_status()
        record = created.json()
        supply = next(
            a
            for a in client.get(f"{base}/v1/therapies/ivig").json()["availability"]
            if a["region"] == "US"
        )
        client.patch(
            f"{base}/v1/availability/{supply['id']}",
            json={"status": "shortage"},
            headers={**curator, "If-Match": f'"{supply["revision"]}"'},
        ).raise_for_status()
        url = f"{base}/v1/decisions/{record['id']}/replay"
        started = time.perf_counter()
        first = client.post(url, headers=clinician)
        first_ms = (time.perf_counter() - started) * 1000
        first.raise_for_status()
        return {
            "identical": first.json()["identical"],
            "first_ms": first_ms,
            "after_ms": _timed(lambda: client.post(url, headers=clinician), times),
            "against_current_ms": _timed(
                lambda: client.post(url, params={"against": "current"}, headers=clinician), times
            ),
        }


def curator_write_at_scale(
    workdir: Path, *, therapies: int, writes: int, url: str | None = None
) -> dict[str, Any]:
    """Writes to one availability row of a catalog grown to `therapies` therapies, on a fresh
    SQLite file or on the empty database `url` (e.g. PostgreSQL, where every statement is a
    round trip)."""
    from sqlalchemy import func, select

    import db.releases
    from db import curation
    from db.catalog_file import SEED_CATALOG, load_catalog_file
    from db.catalog_io import replace_catalog
    from db.migrations import upgrade
    from db.models import Availability, ReleaseEntry
    from db.releases import settle_releases
    from db.session import make_engine, make_session_factory
    from db.versioning import DEFER_RELEASE, begin_write

    seed = load_catalog_file(SEED_CATALOG)
    clones = []
    for n in range(therapies - len(seed.therapies)):
        template = seed.therapies[n % len(seed.therapies)]
        clones.append(template.model_copy(update={"id": f"{template.id}-x{n}", "risk_rules": []}))
    catalog = seed.model_copy(update={"therapies": [*seed.therapies, *clones]})

    url = url or f"sqlite:///{workdir / 'scale.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with factory() as session:
        begin_write(session)
        replace_catalog(session, catalog, actor="bench", summary="scale")
        session.commit()
    load_s = time.perf_counter() - started

    def write_once(status: str, mode: str) -> tuple[float, float]:
        """One write, timed from its start (the locks, and a release still waiting) to its
        commit; then, for "deferred", the release recorded as the API's background task does
        it, timed apart (the curator already has the answer)."""
        with factory() as session:
            if mode in ("deferred", "back_to_back"):
                session.info[DEFER_RELEASE] = True
            begin = time.perf_counter()
            begin_write(session)
            row = session.scalars(
                select(Availability).where(
                    Availability.therapy_id == "ivig", Availability.region == "US"
                )
            ).one()
            curation.update(
                session,
                curation.AVAILABILITY,
                actor="bench",
                record_id=row.id,
                changes={"status": status},
                expected_revision=None,
            )
            session.commit()
            write_ms = (time.perf_counter() - begin) * 1000
        background_ms = 0.0
        if mode == "deferred":
            begin = time.perf_counter()
            settle_releases(factory)
            background_ms = (time.perf_counter() - begin) * 1000
        return write_ms, background_ms

    original = db.releases.record_release

    def no_release(session: Any, *, version: int, whole_catalog: bool, **_: Any) -> int:
        # Off: as if releases did not exist (the versions it writes then cannot be rebuilt,
        # though they fall in the recorded span; this database is the bench's own).
        session.info.pop("tada_release_touched", None)
        return 0

    def write_with(mode: str, status: str) -> tuple[float, float]:
        db.releases.record_release = original if mode != "off" else no_release
        try:
            return write_once(status, mode)
        finally:
            db.releases.record_release = original

    # The three modes interleaved (the order rotating each round), so that the load of a
    # shared machine falls on all alike; every write changes the status.
    modes = ["off", "in_write", "deferred"]
    statuses = ["shortage", "constrained"]
    for n in range(6):  # warm-up
        write_with(modes[n % 3], statuses[n % 2])
    timed: dict[str, list[float]] = {mode: [] for mode in modes}
    background: list[float] = []
    count = 0
    for n in range(writes):
        for mode in modes[n % 3 :] + modes[: n % 3]:
            write_ms, background_ms = write_with(mode, statuses[count % 2])
            count += 1
            timed[mode].append(write_ms)
            if mode == "deferred":
                background.append(background_ms)
    # Writes faster than the background task: each records the previous one's release first.
    back_to_back = [
        write_with("back_to_back", statuses[n % 2])[0] for n in range(max(writes // 2, 5))
    ]
    settle_releases(factory)
    with factory() as session:
        entries = session.scalar(select(func.count()).select_from(ReleaseEntry)) or 0
    engine.dispose()
    return {
        "therapies": len(catalog.therapies),
        "load_s": load_s,
        "write_ms_without_releases": _percentiles(timed["off"]),
        "write_ms_release_in_write": _percentiles(timed["in_write"]),
        "write_ms_release_deferred": _percentiles(timed["deferred"]),
        "deferred_release_background_ms": _percentiles(background),
        "write_ms_back_to_back_deferred": _percentiles(back_to_back[1:]),
        "release_entries_total": entries,
        "load_average_1min": os.getloadavg()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--therapies", type=int, default=10_000)
    parser.add_argument("--pdf-only", action="store_true")
    parser.add_argument(
        "--writes", type=int, default=40, help="curator-write rounds (off, in write, deferred)"
    )
    parser.add_argument("--write-only", action="store_true", help="only the curator write at scale")
    parser.add_argument(
        "--write-database-url",
        help="an EMPTY database for the curator-write part (default: a fresh SQLite file)",
    )
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    times = 10 if args.quick else 40
    workdir = Path(tempfile.mkdtemp(prefix="tada-bench-sdm-"))
    results: dict[str, Any] = {}
    if args.pdf_only:
        with server(workdir) as (base, _env):
            results["pdf_summary"] = pdf_summary(base, times=times)
            results["pdf_matrix"] = pdf_matrix(base, times=1 if args.quick else 3)
        return report(results, "sdm-pdf.json")
    write = functools.partial(
        curator_write_at_scale,
        workdir,
        therapies=args.therapies,
        writes=5 if args.quick else args.writes,
        url=args.write_database_url,
    )
    if args.write_only:
        results["curator_write"] = write()
        return report(results, "sdm-write.json")
    with server(workdir) as (base, env):
        results["grid_vs_score"] = grid_vs_score(
            base, seconds=seconds, connections=args.connections
        )
        results["pdf_summary"] = pdf_summary(base, times=times)
        results["pdf_matrix"] = pdf_matrix(base, times=1 if args.quick else 3)
        results["replay"] = replay_old_release(base, env, workdir, times=times)
    results["curator_write"] = write()
    return report(results, "sdm.json")


def report(results: dict[str, Any], name: str) -> int:
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / name).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
