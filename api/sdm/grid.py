"""The option grid (Option Grid, IPDAS): the questions patients ask, answered for every option.

Pure: it reads a `POST /v1/score` result and the catalog-file entries of the options (therapy
and indication, as they were at the result's catalog version) and returns the grid. Every cell
is built from catalog data, cites its sources and is held to the same length (at most
`CELL_WORDS` words), so no option gets more, or more persuasive, detail than another. Columns
follow the result's order (the patient's stated priorities); nothing here says which to choose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from api.icon_array import IconArrayFigure, describe, frame_words

CELL_WORDS = 40

QUESTIONS = (
    ("what", "What is it?"),
    ("how", "How is it given, and where?"),
    ("often", "How often, and for how long?"),
    ("onset", "How soon does it work?"),
    ("chance", "What is the chance it helps?"),
    ("common", "What are the common side effects?"),
    ("serious", "What are the serious risks?"),
    ("cost", "What does it cost where I live?"),
    ("without", "What happens with no new treatment?"),
)

SETTING_WORDS = {
    "home": "at home",
    "infusion_center": "in an infusion centre",
    "hospital": "in hospital",
}
BASIS_WORDS = {
    "per_year": "a year",
    "per_month": "a month",
    "per_session": "a session",
    "per_course": "a course",
    "one_off": "once",
    "per_gram": "per gram of the dose",
    "per_mg": "per milligram of the dose",
}


@dataclass(frozen=True)
class OptionFacts:
    """What the grid reads about one option: its ranked result and its catalog entries."""

    result: dict[str, Any]
    therapy: dict[str, Any]
    indication: dict[str, Any] | None = None
    figures: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    text: str
    sources: tuple[str, ...]


def words(text: str) -> int:
    return len(text.split())


def brief(text: str, limit: int = CELL_WORDS) -> str:
    """Whole sentences up to `limit` words; a first sentence that is longer is cut with '…'."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s]
    kept: list[str] = []
    for sentence in sentences:
        if words(" ".join([*kept, sentence])) > limit:
            break
        kept.append(sentence)
    if kept:
        return " ".join(kept)
    if not sentences:
        return ""
    cut = sentences[0].split()[: max(limit - 1, 1)]
    return " ".join(cut).rstrip(",;:") + "…"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")


def _count(value: float, noun: str) -> str:
    number = _number(value)
    return f"{number} {noun}" if number == "1" else f"{number} {noun}s"


def _duration(hours: float) -> str:
    if hours >= 48:
        return f"about {_count(hours / 24, 'day')}"
    if hours >= 1:
        return f"about {_count(hours, 'hour')}"
    return f"about {_count(hours * 60, 'minute')}"


def _list_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _unique(items: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return tuple(seen)


def _what(option: OptionFacts) -> Cell:
    therapy = option.therapy
    return Cell(brief(therapy["summary"]), (therapy["source"],))


def _how(option: OptionFacts) -> Cell:
    therapy = option.therapy
    settings = [SETTING_WORDS[s] for s in therapy.get("care_settings", []) if s in SETTING_WORDS]
    where = f"Where: {_list_words(settings)}." if settings else ""
    home = therapy.get("home_rule") or {}
    text = brief(therapy["administration"].get("text") or "", CELL_WORDS - words(where))
    return Cell(
        " ".join(t for t in (text, where) if t) or "Not described in the catalog.",
        _unique([therapy["administration"].get("source"), home.get("source") if home else None]),
    )


def _often(option: OptionFacts) -> Cell:
    therapy, indication = option.therapy, option.indication or {}
    administration = therapy["administration"]
    sessions = indication.get("sessions_per_month")
    hours = indication.get("hours_per_session")
    source = indication.get("source") if sessions is not None else administration.get("source")
    if sessions is None:
        sessions = administration.get("sessions_per_month")
    if hours is None:
        hours = administration.get("hours_per_session")
    parts: list[str] = []
    if sessions == 0:
        parts.append("No treatment sessions.")
    elif sessions is not None:
        each = f", each {_duration(hours)}" if hours else ""
        if sessions >= 1:
            parts.append(f"About {_count(sessions, 'session')} a month{each}.")
        else:
            parts.append(f"About {_count(sessions * 12, 'session')} a year{each}.")
    courses = indication.get("courses_per_year")
    if courses:
        parts.append(f"About {_count(courses, 'course')} a year.")
    if not parts:
        return Cell("Not recorded in the catalog.", ())
    return Cell(
        brief(" ".join(parts)), _unique([source, indication.get("source") if courses else None])
    )


def _onset(option: OptionFacts) -> Cell:
    indication = option.indication or {}
    days = indication.get("onset_days")
    source = indication.get("source")
    if days is None:
        days, source = option.therapy.get("onset_days"), option.therapy.get("source")
    if days is None:
        return Cell("Not recorded in the catalog.", ())
    if days == 0:
        text = "Nothing is given, so there is no waiting for it to work."
    elif days < 14:
        text = f"Usually within about {_number(days)} days."
    else:
        text = f"Usually after about {_number(days / 7)} weeks."
    return Cell(text, _unique([source]))


def _benefit_figure(option: OptionFacts) -> dict[str, Any] | None:
    good = [f for f in option.figures if f.get("higher_is_better", True)]
    candidates = good or option.figures
    return candidates[0] if candidates else None


def icon_figure(figure: dict[str, Any], option_label: str) -> IconArrayFigure:
    comparator = figure.get("comparator") or {}
    return IconArrayFigure(
        figure_id=figure["id"],
        option_label=option_label,
        measure=figure["measure"],
        events=int(figure["events"]),
        per=int(figure["per"]),
        time_frame=figure.get("time_frame") or "",
        comparator_label=comparator.get("label"),
        comparator_events=comparator.get("events"),
    )


def short_name(name: str) -> str:
    """The name patients hear: 'Intravenous immunoglobulin (IVIG)' -> 'IVIG', 'Plasma exchange
    (plasmapheresis, TPE)' -> 'Plasma exchange': an acronym in brackets, else the words before."""
    match = re.fullmatch(r"\s*([^()]+?)\s*\(([^()]*)\)\s*", name)
    if not match:
        return name
    first = re.split(r"[,;]", match.group(2))[0].strip()
    if re.fullmatch(r"[A-Za-z]*[A-Z]{2,}[A-Za-z]*", first):
        return first
    return match.group(1)


def _chance(option: OptionFacts) -> Cell:
    figure = _benefit_figure(option)
    if figure is None:
        return Cell("The catalog has no figure for this.", ())
    text = describe(icon_figure(figure, short_name(option.result["name"])))
    return Cell(brief(text), _unique([figure.get("source")]))


def _effects(option: OptionFacts, *, serious: bool) -> Cell:
    effects = [
        e for e in option.therapy.get("adverse_effects", []) if bool(e["serious"]) == serious
    ]
    if not effects:
        return Cell("None listed in the catalog.", ())
    parts = []
    for effect in effects[:3]:
        per_100 = effect.get("per_100")
        how_often = f" (about {_number(per_100)} in 100)" if per_100 else ""
        parts.append(f"{effect['name']}{how_often}")
    more = len(effects) - 3
    text = "; ".join(parts) + "." + (f" And {more} more in the catalog." if more > 0 else "")
    return Cell(brief(text), _unique(e["source"] for e in effects[:3]))


def _money(amount: float) -> str:
    """Whole units from 100 up; below that two decimals at most, so that a price per milligram
    of 0.45 does not read as "About 0"."""
    if amount >= 100:
        return f"{amount:,.0f}"
    return f"{amount:,.2f}".rstrip("0").rstrip(".")


def _cost(option: OptionFacts, *, region: str, condition_id: str) -> Cell:
    costs = [c for c in option.therapy.get("costs", []) if c["region"] == region]
    specific = [c for c in costs if c.get("condition") == condition_id]
    general = [c for c in costs if not c.get("condition")]
    candidates = specific or general
    if not candidates:
        return Cell(f"No cost figure for {region} in the catalog.", ())
    chosen = candidates[0]
    if not chosen["amount"]:
        text = f"No cost for the treatment itself ({chosen['year']} figure)."
        return Cell(text, (chosen["source"],))
    basis = BASIS_WORDS[chosen["basis"]]
    text = (
        f"About {_money(chosen['amount'])} {chosen['currency']} {basis} "
        f"({chosen['year']} figure, before any insurance or funding)."
    )
    return Cell(text, (chosen["source"],))


def _without(option: OptionFacts) -> Cell:
    if option.therapy.get("modality") == "observation":
        return Cell("This is the option of no new treatment.", (option.therapy["source"],))
    for figure in option.figures:
        comparator = figure.get("comparator")
        if comparator:
            text = (
                f"In the study, about {comparator['events']} in {figure['per']} people "
                f"{figure['measure']} with {comparator['label']}"
            )
            text += frame_words(figure.get("time_frame") or "") + "."
            return Cell(brief(text), _unique([figure.get("source")]))
    return Cell("The catalog has no figure for people without this treatment.", ())


def option_grid(
    result: dict[str, Any], options: list[OptionFacts], *, region: str
) -> dict[str, Any]:
    """The grid body of `POST /v1/option-grid`."""
    condition_id = result["condition"]["id"]
    answer: dict[str, Callable[[OptionFacts], Cell]] = {
        "what": _what,
        "how": _how,
        "often": _often,
        "onset": _onset,
        "chance": _chance,
        "common": lambda o: _effects(o, serious=False),
        "serious": lambda o: _effects(o, serious=True),
        "cost": lambda o: _cost(o, region=region, condition_id=condition_id),
        "without": _without,
    }
    rows = []
    for key, question in QUESTIONS:
        cells = []
        for option in options:
            cell = answer[key](option)
            cells.append(
                {
                    "therapy_id": option.result["therapy_id"],
                    "text": cell.text,
                    "sources": list(cell.sources),
                }
            )
        rows.append({"id": key, "question": question, "cells": cells})
    return {
        "catalog_version": result["catalog_version"],
        "condition": result["condition"],
        "ordering_basis": result["ordering_basis"],
        "options": [
            {
                "therapy_id": o.result["therapy_id"],
                "name": o.result["name"],
                "rank": o.result["rank"],
            }
            for o in options
        ],
        "rows": rows,
    }
