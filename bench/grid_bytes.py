"""The option grid's exact answers for a varied set of bodies, as digests, to hold a speed-up to
the same bytes.

    python bench/grid_bytes.py --save /tmp/grid-bytes.json   # before a change
    python bench/grid_bytes.py --check /tmp/grid-bytes.json  # after it: exit 1 on any change

Builds TADA's app on a fresh seeded SQLite database (as bench/profile_score.py does) and posts
every body of `bodies()` to `POST /v1/option-grid` in process: every condition of the seed, ages
from a child to the old, with and without a weight, kidney function, risk factors, treatment
histories (unknown, none, responded, not tolerated), every region the seed prices, care
settings, budgets, urgency, weights, both methods, condition codings, and bad bodies (404, 422
from the service and from validation, bodies that are not JSON objects). Each answer is kept as
the SHA-256 of its status, content type and body; nothing here is a test: it compares.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from profile_score import make_app
from run import ROOT

sys.path.insert(0, str(ROOT))

CONDITIONS = [
    "pi",
    "mmn",
    "cidp",
    "itp",
    "ms",
    "ms-relapse",
    "ms-progressive",
    "gbs",
    "mg",
    "mg-exacerbation",
    "scid",
]
REGIONS = ["US", "NO", "EU", "GB", "CA", "AU", "JP"]  # JP: no cost row in the seed
PATIENTS: list[dict[str, Any]] = [
    {},
    {"age_years": 8, "weight_kg": 25},
    {"age_years": 45},
    {"age_years": 52, "weight_kg": 80, "egfr": 25, "risk_factors": ["thrombosis_history"]},
    {"age_years": 71, "weight_kg": 64.5, "egfr": 55, "risk_factors": ["heart_failure"]},
    {"age_years": 30, "weight_kg": 120, "pregnant": True, "prior_supervised_infusions": 4},
    {"age_years": 0.5, "weight_kg": 7, "risk_factors": ["iga_deficiency_with_anti_iga"]},
    {"age_years": 60, "platelet_count": 20, "travel_hours": 3, "igg_trough": 400},
]
HISTORIES: list[Any] = [
    None,
    [],
    [{"therapy_id": "ivig", "outcome": "responded", "ongoing": True}],
    [{"therapy_id": "corticosteroids", "outcome": "not_tolerated"}],
    [{"therapy_id": "rituximab", "outcome": "inadequate_response"}, {"therapy_id": "ivig"}],
]
PREFERENCES: list[dict[str, Any]] = [
    {},
    {"settings": ["home"], "urgent": False},
    {"settings": ["hospital", "infusion_center"], "urgent": True},
    {"max_annual_cost": 20000},
]
WEIGHTS: list[dict[str, float]] = [
    {},
    {"efficacy": 8, "safety": 7, "convenience": 6, "cost": 4},
    {"cost": 10, "efficacy": 1},
    {"onset": 9, "availability": 2.5},
]
BAD: list[Any] = [
    {"condition": "no-such-condition"},  # 404
    {"condition": "cidp", "patient": {"risk_factors": ["no_such_factor"]}},  # 422, service
    {
        "condition": "cidp",
        "weights": dict.fromkeys(
            ("efficacy", "safety", "convenience", "cost", "availability", "onset"), 0
        ),
    },
    {"condition": "cidp", "weights": {"efficacy": 11}},  # 422, validation
    {"condition": "cidp", "patient": {"age_years": "52"}},  # 422, strict number
    {"patient": {}},  # 422, no condition
    [{"condition": "cidp"}],  # 422, not an object
    {"condition": {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "Z99"}},  # 404
]


def bodies() -> list[Any]:
    """About 600 bodies, the same list on every run."""
    out: list[Any] = []
    combos = itertools.product(CONDITIONS, PATIENTS, HISTORIES)
    for i, (condition, patient, history) in enumerate(combos):
        body: dict[str, Any] = {
            "condition": condition,
            "patient": {**patient, **({} if history is None else {"prior_treatments": history})},
            "preferences": {**PREFERENCES[i % len(PREFERENCES)], "region": REGIONS[i % 7]},
            "weights": WEIGHTS[(i // 3) % len(WEIGHTS)],
        }
        if i % 5 == 0:
            body["method"] = "topsis"
        out.append(body)
    for condition, region in itertools.product(CONDITIONS, REGIONS):
        out.append({"condition": condition, "preferences": {"region": region}})
    out.append({"condition": {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "g61.81"}})
    out.extend(BAD)
    return out


def digests(client: Any, path: str = "/v1/option-grid") -> tuple[list[str], Counter[int]]:
    """Each answer's digest, in the order of `bodies()`, and how many answers had each status."""
    seen = []
    statuses: Counter[int] = Counter()
    for body in bodies():
        response = client.post(
            path, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        answer = hashlib.sha256()
        answer.update(str(response.status_code).encode() + b"\n")
        answer.update(response.headers["content-type"].encode() + b"\n")
        answer.update(response.content)
        seen.append(answer.hexdigest())
        statuses[response.status_code] += 1
    return seen, statuses


def main() -> int:
    from fastapi.testclient import TestClient

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    way = parser.add_mutually_exclusive_group(required=True)
    way.add_argument("--save", type=Path, help="write the digests to this file")
    way.add_argument("--check", type=Path, help="compare with the digests in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tada-grid-bytes-") as workdir:
        with TestClient(make_app(Path(workdir))) as client:
            seen, statuses = digests(client)
    print("statuses:", dict(sorted(statuses.items())))
    if args.save:
        args.save.write_text(json.dumps(seen, indent=0) + "\n")
        print(f"saved {len(seen)} answers to {args.save}")
        return 0
    expected = json.loads(args.check.read_text())
    changed = [i for i, (a, b) in enumerate(zip(expected, seen, strict=True)) if a != b]
    for i in changed[:10]:
        print(f"changed: body {i}: {json.dumps(bodies()[i])}")
    print(f"{len(seen) - len(changed)} of {len(seen)} answers identical")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
