"""Catalog at scale: TADA on a generated 10,000-therapy, 50-condition catalog vs the seed.

    python bench/scale.py                    # figures to stdout and bench/results/scale.json
    python bench/scale.py --quick            # shorter load runs

The synthetic catalog is made here from the seed file and never shipped: each synthetic therapy
copies a seed therapy (its administration, adverse effects, rules, costs, availability) under a
new id, with one indication for one of 40 synthetic conditions; the first few also get an
indication for CIDP, so that CIDP has about 20 options (the seed gives it 7). Measured:

1. catalog load (`replace_catalog`) and snapshot load (`load_snapshot`) times in process;
2. `tada serve` resident memory after warm-up, for the seed and for the large catalog;
3. curator write latency (PATCH a source, PATCH an indication, one at a time, with If-Match);
4. `POST /v1/score` for CIDP on both catalogs, side by side (one uvicorn worker each, the same
   load tool and concurrency): throughput and p50/p99. Target: p99 at most 1.5x the seed's.

Nothing here is a test: it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from run import ROOT, SCORE_CASE, load, rss_mb, start_tada

THERAPIES = 10_000
CONDITIONS = 50
CIDP_OPTIONS = 20
WRITES = 40


def synthetic_catalog() -> Any:
    """The seed catalog grown to THERAPIES therapies across CONDITIONS conditions."""
    from db.catalog_file import Coding, load_catalog_file

    seed = load_catalog_file(ROOT / "db" / "catalog" / "seed.yaml")
    source = seed.conditions[0].source
    extra = CONDITIONS - len(seed.conditions)
    conditions = list(seed.conditions) + [
        seed.conditions[0].model_copy(
            update={
                "id": f"syn-condition-{n:02d}",
                "name": f"Synthetic condition {n}",
                "codes": [Coding(system="urn:tada:bench", code=f"SYN{n:02d}")],
                "source": source,
            }
        )
        for n in range(extra)
    ]
    first_indication: dict[str, Any] = {}
    for indication in seed.indications:
        first_indication.setdefault(indication.therapy, indication)
    therapies = list(seed.therapies)
    indications = list(seed.indications)
    cidp_named = {i.therapy for i in seed.indications if i.condition == "cidp"}
    templates = [t for t in seed.therapies if t.id in first_indication]
    for n in range(THERAPIES - len(seed.therapies)):
        template = templates[n % len(templates)]
        therapy_id = f"syn-{n:05d}-{template.id}"[:64]
        therapies.append(
            template.model_copy(
                update={
                    "id": therapy_id,
                    "name": f"{template.name} (synthetic {n})",
                    "codes": [],
                    "risk_rules": [
                        r.model_copy(update={"id": f"{r.id}-syn{n}"[:64]})
                        for r in template.risk_rules
                    ],
                }
            )
        )
        targets = [f"syn-condition-{n % extra:02d}"]
        if len(cidp_named) < CIDP_OPTIONS:
            cidp_named.add(therapy_id)
            targets.append("cidp")
        for condition_id in targets:
            base = first_indication[template.id]
            indications.append(
                base.model_copy(
                    update={
                        "therapy": therapy_id,
                        "condition": condition_id,
                        "figures": [
                            f.model_copy(update={"id": f"syn{n}-{condition_id}-{i}"})
                            for i, f in enumerate(base.figures)
                        ],
                    }
                )
            )
    # Copies of validated entries with fresh ids: no need to validate the whole file again
    # (validating it again would also merge its code lists into the conditions a second time).
    return seed.model_copy(
        update={"conditions": conditions, "therapies": therapies, "indications": indications}
    )


def build_database(database_url: str, catalog: Any | None) -> dict[str, float]:
    """Migrate, load the catalog (the seed when None), time the load and a snapshot load."""
    from db.catalog_file import load_catalog_file
    from db.catalog_io import replace_catalog
    from db.migrations import upgrade
    from db.session import make_engine, make_session_factory
    from db.snapshot import load_snapshot

    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    catalog = catalog or load_catalog_file(ROOT / "db" / "catalog" / "seed.yaml")
    figures: dict[str, float] = {}
    with factory() as session:
        started = time.perf_counter()
        replace_catalog(session, catalog, actor="bench", summary="bench catalog")
        session.commit()
        figures["catalog_load_s"] = time.perf_counter() - started
    timings = []
    for _ in range(3):
        with factory() as session:
            started = time.perf_counter()
            snapshot = load_snapshot(session)
            timings.append(time.perf_counter() - started)
    figures["snapshot_load_s"] = min(timings)
    figures["therapies"] = len(snapshot.therapies)
    figures["conditions"] = len(snapshot.conditions)
    figures["cidp_options"] = sum(1 for i in snapshot.indications if i.condition_id == "cidp")
    engine.dispose()
    return figures


def serve(database_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    settings = {
        "TADA_DATABASE_URL": database_url,
        "TADA_LOG_LEVEL": "WARNING",
        "TADA_SEED_ON_EMPTY": "false",
    }
    return start_tada(workdir, settings, ready_seconds=120)  # a 10,000-therapy load is slow


def curator_writes(base: str, key: str) -> dict[str, float]:
    """Latency of one curator write at a time: a source, then an indication, WRITES each."""
    latencies: dict[str, list[float]] = {"source": [], "indication": []}
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
        source = client.get("/v1/sources").json()["items"][0]
        indication = client.get("/v1/indications?condition=cidp").json()["items"][0]
        for what, path, revision in (
            ("source", f"/v1/sources/{source['id']}", source["revision"]),
            ("indication", f"/v1/indications/{indication['id']}", indication["revision"]),
        ):
            for n in range(WRITES):
                started = time.perf_counter()
                response = client.patch(
                    path, json={"note": f"bench write {n}"}, headers={"If-Match": f'"{revision}"'}
                )
                latencies[what].append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                revision = response.json()["revision"]
    figures: dict[str, float] = {}
    for what, values in latencies.items():
        values.sort()
        figures[f"{what}_p50_ms"] = statistics.median(values)
        figures[f"{what}_max_ms"] = values[-1]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    from ops import make_key

    workdir = Path(tempfile.mkdtemp(prefix="tada-scale-"))
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "seconds": seconds,
        "connections": args.connections,
    }
    started = time.perf_counter()
    catalog = synthetic_catalog()
    results["generate_s"] = time.perf_counter() - started
    urls = {
        "seed": f"sqlite:///{workdir / 'seed.db'}",
        "scale": f"sqlite:///{workdir / 'scale.db'}",
    }
    results["seed"] = build_database(urls["seed"], None)
    results["scale"] = build_database(urls["scale"], catalog)
    del catalog
    body = json.dumps(SCORE_CASE).encode()
    servers = {}
    try:
        for name, url in urls.items():
            started = time.perf_counter()
            servers[name] = serve(url, workdir)
            results[name]["ready_s"] = time.perf_counter() - started
        for name, (_server, base) in servers.items():
            probe = httpx.post(f"{base}/v1/score", json=SCORE_CASE, timeout=60)
            probe.raise_for_status()
            answer = probe.json()
            results[name]["answer_bytes"] = len(probe.content)
            results[name]["ranked"] = len(answer["ranked"])
            results[name]["excluded"] = len(answer["excluded"])
            results[name]["not_indicated_count"] = answer["not_indicated_count"]
            load(f"{base}/v1/score", body, seconds=1, connections=args.connections)
        # Side by side: alternate the two, twice each, and keep each one's better run.
        runs: dict[str, list[dict[str, float]]] = {"seed": [], "scale": []}
        for _ in range(2):
            for name, (_server, base) in servers.items():
                runs[name].append(
                    load(f"{base}/v1/score", body, seconds=seconds, connections=args.connections)
                )
        for name, measured in runs.items():
            results[name]["score"] = max(measured, key=lambda r: r["rps"])
            results[name]["rss_mb"] = rss_mb(servers[name][0].pid)
        results["scale"]["writes"] = curator_writes(servers["scale"][1], make_key(urls["scale"]))
        results["seed"]["writes"] = curator_writes(servers["seed"][1], make_key(urls["seed"]))
    finally:
        for server, _base in servers.values():
            server.terminate()
            server.wait(timeout=30)
    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=2))
    return 0


def report(r: dict[str, Any]) -> None:
    seed, scale = r["seed"], r["scale"]
    print(f"machine: {r['machine']}; load average at start {r['load_average']}")
    print("| measure | seed catalog | 10,000 therapies | ratio | target |")
    print("| --- | --- | --- | --- | --- |")

    def row(name: str, a: float, b: float, fmt: str, target: str = "") -> None:
        print(f"| {name} | {a:{fmt}} | {b:{fmt}} | {b / a:.2f}x | {target} |")

    print(
        f"| catalog | {seed['therapies']} therapies, {seed['conditions']} conditions | "
        f"{scale['therapies']} therapies, {scale['conditions']} conditions | | |"
    )
    print(f"| CIDP options | {seed['cidp_options']} | {scale['cidp_options']} | | |")
    row("catalog load (s)", seed["catalog_load_s"], scale["catalog_load_s"], ".2f")
    row("snapshot load (s)", seed["snapshot_load_s"], scale["snapshot_load_s"], ".3f")
    row("start to ready (s)", seed["ready_s"], scale["ready_s"], ".1f")
    row("service RSS after the runs (MB)", seed["rss_mb"], scale["rss_mb"], ".0f")
    row("CIDP answer (bytes)", seed["answer_bytes"], scale["answer_bytes"], ".0f")
    row("POST /v1/score CIDP (req/s)", seed["score"]["rps"], scale["score"]["rps"], ".0f")
    row("POST /v1/score CIDP p50 (ms)", seed["score"]["p50"], scale["score"]["p50"], ".2f")
    row(
        "POST /v1/score CIDP p99 (ms)",
        seed["score"]["p99"],
        scale["score"]["p99"],
        ".2f",
        "<= 1.5x",
    )
    for what in ("source", "indication"):
        row(
            f"curator PATCH {what}, p50 (ms)",
            seed["writes"][f"{what}_p50_ms"],
            scale["writes"][f"{what}_p50_ms"],
            ".1f",
        )
        row(
            f"curator PATCH {what}, max of {WRITES} (ms)",
            seed["writes"][f"{what}_max_ms"],
            scale["writes"][f"{what}_max_ms"],
            ".1f",
        )


if __name__ == "__main__":
    raise SystemExit(main())
