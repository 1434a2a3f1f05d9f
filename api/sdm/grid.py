"""The option grid (Option Grid, IPDAS): the questions patients ask, answered for every option.

Pure: it reads a `POST /v1/score` result and the catalog-file entries of the options (therapy
and indication, as they were at the result's catalog version) and returns the grid. Every cell
is built from catalog data, cites its sources and is held to the same length (at most
`CELL_WORDS` words), so no option gets more, or more persuasive, detail than another. Columns
follow the result's order (the patient's stated priorities); nothing here says which to choose.
Every answer but the cost reads only catalog data, so those cells are built once per option and
catalog snapshot and shared (`GridCells`); no I/O either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from api.icon_array import IconArrayFigure, describe, frame_words
from scoring.criteria import AnnualCost, number, session_noun
from scoring.model import WEIGHT_BASED_BASES, CatalogSnapshot, Cost, CostBasis

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
# What one "session" of the catalog is, by the therapy's route (catalog data): a medicine by
# mouth is taken in doses; every other route keeps "session" (an infusion, an injection, an
# exchange). (noun, how it is taken)
ROUTE_WORDS = {"oral": "by mouth"}  # how a dose is taken, where the route says more than "a dose"
DAILY_SESSIONS = 20  # from about 20 a month, a schedule reads as "once a day", "twice a day"
TIMES_A_DAY = {1: "once", 2: "twice"}
BRIEF_HOURS = 0.1  # a dose or injection under 6 minutes has no "each about 3 minutes"
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
    # The cost row the engine prices the option with in the request's region, and its annual
    # cost for the request's weight (`scoring.engine.option_costs`); None: none applies.
    cost: Cost | None = None
    annual: AnnualCost | None = None


@dataclass(frozen=True)
class Cell:
    text: str
    sources: tuple[str, ...]


def words(text: str) -> int:
    return len(text.split())


def brief(text: str, limit: int = CELL_WORDS) -> str:
    """Whole sentences up to `limit` words; a first sentence that is longer is cut at a phrase
    boundary and marked with '…' (`cut_at_phrase`)."""
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
    return cut_at_phrase(sentences[0].split(), limit)


# A cut just before one of these words ends the phrase before it ("a tablet | that helps").
PHRASE_OPENERS = frozenset(
    "that which who whose where when while because so and or but with without in on at to "
    "for from by of as than about under over after before during each".split()
)
# Words a shortened answer must not end on: it would end mid-phrase ("a gland in the…").
DANGLING = PHRASE_OPENERS | frozenset(
    "a an the your its their is are can may per made called given taken used takes needs has "
    "have gives".split()
)
NUMBER = re.compile(r"^[\d.,]+$")


def _balanced(kept: list[str]) -> bool:
    text = " ".join(kept)
    return text.count("(") == text.count(")")


def _ends_a_phrase(kept: list[str]) -> bool:
    return _balanced(kept) and kept[-1].lower().strip(",;:") not in DANGLING


def cut_at_phrase(tokens: list[str], limit: int) -> str:
    """At most `limit - 1` of `tokens` and '…', ending where a phrase ends (decision 0013):
    the last comma, semicolon or colon, or the word before a bracket, that keeps at least half
    of them; else just before the last word that opens a phrase ("that", "in", "with"; "to"
    between numbers is a range, not a phrase); else without the words a phrase cannot end on
    and without an unclosed bracket. Never mid-bracket, never on "the" or "in"."""
    cut = tokens[: max(limit - 1, 1)]
    least = max(2, len(cut) // 2)
    for end in range(len(cut), least - 1, -1):
        kept, after = cut[:end], tokens[end] if end < len(tokens) else ""
        boundary = kept[-1].endswith((",", ";", ":")) or after.startswith("(")
        if boundary and _ends_a_phrase(kept):
            return " ".join(kept).rstrip(",;:") + "…"
    for end in range(min(len(cut), len(tokens) - 1), least - 1, -1):
        opener = tokens[end].lower()
        between_numbers = opener == "to" and NUMBER.match(tokens[end - 1])
        if opener in PHRASE_OPENERS and not between_numbers and _ends_a_phrase(cut[:end]):
            return " ".join(cut[:end]).rstrip(",;:") + "…"
    kept = cut
    while len(kept) > 1 and not _ends_a_phrase(kept):
        kept = kept[:-1]
    return " ".join(kept).rstrip(",;:") + "…"


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


def _unit(therapy: dict[str, Any]) -> tuple[str, str]:
    """What one "session" of the catalog is, read from the therapy's route: a medicine taken
    by mouth comes in doses, not sessions; (noun, how it is taken, or "")."""
    route = therapy.get("route") or ""
    return session_noun(route), ROUTE_WORDS.get(route, "")


def _frequency(sessions: float, hours: float | None, therapy: dict[str, Any]) -> str:
    """How often, in the words of the therapy's unit: "By mouth, twice a day.", "About 1.4
    sessions a month, each about 3 hours.", "About 5 sessions a year, each about 2 hours."."""
    noun, how = _unit(therapy)
    each = f", each {_duration(hours)}" if hours and hours >= BRIEF_HOURS else ""
    if sessions >= DAILY_SESSIONS:
        times = round(sessions / 30)
        daily = TIMES_A_DAY.get(times, f"about {times} times")
        text = f"{daily} a day{each}."
        return f"{how.capitalize()}, {text}" if how else text.capitalize()
    prefix = f"{how.capitalize()}: about" if how else "About"
    if sessions >= 1:
        return f"{prefix} {_count(sessions, noun)} a month{each}."
    return f"{prefix} {_count(sessions * 12, noun)} a year{each}."


def _how_long(indication: dict[str, Any]) -> Cell:
    course = indication.get("course")
    if not course:
        return Cell("How long: not recorded in the catalog.", ())
    text = course["text"].rstrip(".")
    first = text.split(" ", 1)[0]
    if len(first) == 1 or first[1:].islower():  # "One course", "A short" -> lower; "IVIG" stays
        text = text[:1].lower() + text[1:]
    return Cell(f"How long: {text}.", (course["source"],))


def _often(option: OptionFacts) -> Cell:
    """How often (sessions, or doses for a medicine by mouth, or the one time of a procedure),
    then how long the treatment lasts (the indication's cited `course`, or "not recorded"),
    which is never the sentence cut to keep the cell short."""
    therapy, indication = option.therapy, option.indication or {}
    administration = therapy["administration"]
    sessions = indication.get("sessions_per_month")
    hours = indication.get("hours_per_session")
    source = indication.get("source") if sessions is not None else administration.get("source")
    if sessions is None:
        sessions = administration.get("sessions_per_month")
    if hours is None:
        hours = administration.get("hours_per_session")
    course = indication.get("course") or {}
    # A one-time procedure, or a "session" of a day or more (a stay in hospital, as for a
    # transplant): its "sessions a year" are the scoring's spread of one stay, not a rhythm.
    once = course.get("kind") == "once" or (hours is not None and hours >= 24)
    parts: list[str] = []
    if once:
        if hours:
            parts.append(f"Time in care: {_duration(hours)}.")
        else:
            source = None
    elif sessions == 0:
        parts.append("No treatment sessions.")
    elif sessions is not None:
        parts.append(_frequency(sessions, hours, therapy))
    courses = indication.get("courses_per_year")
    if courses and not once:
        parts.append(f"About {_count(courses, 'course')} a year.")
    if not parts:
        source = None
    how_long = _how_long(indication)
    often = brief(" ".join(parts), CELL_WORDS - words(how_long.text)) if parts else ""
    return Cell(
        " ".join(t for t in (often, how_long.text) if t),
        _unique(
            [
                source,
                indication.get("source") if courses and not once else None,
                *how_long.sources,
            ]
        ),
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


_COUNTED_OVER_A_YEAR = {CostBasis.PER_MONTH, CostBasis.PER_SESSION, CostBasis.PER_COURSE}


def _cost(option: OptionFacts, *, region: str) -> Cell:
    """The price the engine counts (`OptionFacts.cost`, chosen by `scoring.facts.select_cost`).
    A price per gram or mg of a weight-based dose gives the patient's own yearly figure when
    the request gives the weight (`OptionFacts.annual`, the figure of the cost criterion's
    explanation), else the unit price and that the yearly cost follows the weight."""
    row = option.cost
    if row is None:
        return Cell(f"No cost figure for {region} in the catalog.", ())
    funding = f"({row.year} prices, before any insurance or funding)"
    if not row.amount:
        return Cell(f"No cost for the treatment itself ({row.year} figure).", (row.source_id,))
    if row.basis in WEIGHT_BASED_BASES:
        if option.annual is not None:
            yearly = f"About {number(round(option.annual.amount))} {option.annual.currency}"
            return Cell(f"{yearly} a year for your weight {funding}.", (row.source_id,))
        text = (
            f"About {_money(row.amount)} {row.currency} {BASIS_WORDS[row.basis.value]} "
            f"{funding}. The yearly cost depends on body weight."
        )
        return Cell(text, (row.source_id,))
    basis = BASIS_WORDS[row.basis.value]
    if row.basis is CostBasis.PER_SESSION:
        basis = f"a {_unit(option.therapy)[0]}"
    text = f"About {_money(row.amount)} {row.currency} {basis}"
    if option.annual is not None and row.basis in _COUNTED_OVER_A_YEAR:
        # The same yearly figure the cost criterion counts, so an option priced a session, a
        # month or a course also reads a year's cost (a one-off price is the whole cost).
        text += f"; about {number(round(option.annual.amount))} {option.annual.currency} a year"
    return Cell(f"{text} {funding}.", (row.source_id,))


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


def _common(option: OptionFacts) -> Cell:
    return _effects(option, serious=False)


def _serious(option: OptionFacts) -> Cell:
    return _effects(option, serious=True)


# The answers that read only catalog data at the result's version: the therapy and its
# indication entries, the option's name and outcome figures (the indication's, the same for
# every patient). The cost's answer reads the patient's region and weight, so it is the one
# built per request.
CATALOG_ANSWERS: dict[str, Callable[[OptionFacts], Cell]] = {
    "what": _what,
    "how": _how,
    "often": _often,
    "onset": _onset,
    "chance": _chance,
    "common": _common,
    "serious": _serious,
    "without": _without,
}
OptionCells = dict[str, dict[str, Any]]


def _cell_body(option: OptionFacts, cell: Cell) -> dict[str, Any]:
    return {
        "therapy_id": option.result["therapy_id"],
        "text": cell.text,
        "sources": list(cell.sources),
    }


def catalog_cells(option: OptionFacts) -> OptionCells:
    """An option's cells for the questions of `CATALOG_ANSWERS`, in the grid's JSON shape."""
    return {key: _cell_body(option, answer(option)) for key, answer in CATALOG_ANSWERS.items()}


class GridCells:
    """Every option's catalog-only cells on one catalog snapshot, built on first use and then
    shared by every grid on that snapshot. They are the same for every patient, and building
    them per request was half of a grid request's server time (493 -> 239 µs a request,
    bench/profile_score.py --path /v1/option-grid; mostly `brief`). Kept in
    `snapshot.prepared`, so they live and die with its catalog version: a curator's write
    makes a new version, a new snapshot and new cells. Keyed by catalog version, condition and
    therapy (the result's version is the snapshot's; the version in the key keeps the cells
    right if a caller mixed them). Bounded by the catalog: one entry per indication asked for.
    The shared cells are never mutated: the grid is encoded, and the summary copies the cells
    it changes."""

    def __init__(self) -> None:
        self._cells: dict[tuple[int, str, str], OptionCells] = {}

    @classmethod
    def of(cls, snapshot: CatalogSnapshot) -> GridCells:
        kept = snapshot.prepared.get("api.grid_cells")
        if not isinstance(kept, GridCells):
            kept = cls()
            snapshot.prepared["api.grid_cells"] = kept
        return kept

    def cells(self, option: OptionFacts, *, version: int, condition_id: str) -> OptionCells:
        """`catalog_cells(option)` for the option at this catalog version and condition."""
        key = (version, condition_id, option.result["therapy_id"])
        known = self._cells.get(key)
        if known is None:
            # Two threads may both build an option's cells: the same cells, the last one kept.
            known = self._cells[key] = catalog_cells(option)
        return known


def option_grid(
    result: dict[str, Any],
    options: list[OptionFacts],
    *,
    region: str,
    kept: GridCells | None = None,
) -> dict[str, Any]:
    """The grid body of `POST /v1/option-grid`. The catalog-only cells are built here
    (`catalog_cells`), or taken from `kept`, the cells kept for the result's snapshot."""
    version, condition_id = result["catalog_version"], result["condition"]["id"]
    known = [
        kept.cells(option, version=version, condition_id=condition_id)
        if kept is not None
        else catalog_cells(option)
        for option in options
    ]
    rows = []
    for key, question in QUESTIONS:
        if key == "cost":  # the one answer that reads the patient (region, weight)
            row = [_cell_body(option, _cost(option, region=region)) for option in options]
        else:
            row = [option_cells[key] for option_cells in known]
        rows.append({"id": key, "question": question, "cells": row})
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
