"""What changed between two results for the same request (a decision and today's catalog).

Pure: it compares two `POST /v1/score` bodies and returns the `changes` of a replay.
"""

from __future__ import annotations

import hashlib
from typing import Any


def result_digest(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def _ranked(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {option["therapy_id"]: option for option in result.get("ranked", [])}


def _cautions(option: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["code"], c["message"]) for c in option.get("cautions", [])]


def _figures(option: dict[str, Any]) -> dict[str, Any]:
    return {f["id"]: f for f in option.get("outcome_figures", []) if "id" in f}


def result_changes(then: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """`changes`: options added or removed, rank moves, cautions and figures that differ."""
    before, after = _ranked(then), _ranked(now)
    both = [t for t in after if t in before]  # in today's order
    rank_changes = [
        {"therapy_id": t, "from": before[t]["rank"], "to": after[t]["rank"]}
        for t in both
        if before[t]["rank"] != after[t]["rank"]
    ]
    cautions = []
    figures = []
    for therapy_id in both:
        old, new = _cautions(before[therapy_id]), _cautions(after[therapy_id])
        added = [{"code": c, "message": m} for c, m in new if (c, m) not in old]
        removed = [{"code": c, "message": m} for c, m in old if (c, m) not in new]
        if added or removed:
            cautions.append({"therapy_id": therapy_id, "added": added, "removed": removed})
        old_figures, new_figures = _figures(before[therapy_id]), _figures(after[therapy_id])
        figure_change = {
            "therapy_id": therapy_id,
            "added": [f for f in new_figures if f not in old_figures],
            "removed": [f for f in old_figures if f not in new_figures],
            "changed": [
                f for f in new_figures if f in old_figures and new_figures[f] != old_figures[f]
            ],
        }
        if figure_change["added"] or figure_change["removed"] or figure_change["changed"]:
            figures.append(figure_change)
    return {
        "to_version": now["catalog_version"],
        "added": [t for t in after if t not in before],
        "removed": [t for t in before if t not in after],
        "rank_changes": rank_changes,
        "cautions": cautions,
        "figures": figures,
    }
