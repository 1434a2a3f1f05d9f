"""The printable summary a patient takes home: HTML with print CSS, or the same page as a PDF.

One Jinja2 template makes both. The PDF is drawn by xhtml2pdf (with reportlab, its C accelerator
and svglib: wheels from PyPI, no system libraries), so `pip install -e .` alone gives working PDFs.
The content is assembled here from a score result and its option grid; every clinical sentence
comes from the catalog (through the grid and the result's cautions and `later[]`).
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from api.icon_array import describe, render_icon_array
from api.sdm.grid import OptionFacts, brief, icon_figure, short_name
from api.templates import environment

CRITERION_WORDS = {
    "efficacy": "How well it works",
    "safety": "Side effects and risks",
    "convenience": "Time, travel and needles",
    "cost": "Cost",
    "availability": "Whether it can be had now",
    "onset": "How soon it works",
}

# "Ask 3 Questions" (Shepherd et al., Patient Educ Couns 2011) and the Option Grid's
# questions about waiting and what comes next: prompts, not clinical statements.
QUESTIONS = (
    "What are my options?",
    "What are the possible benefits and harms of those options?",
    "How likely are each of those benefits and harms to happen to me?",
    "What happens if I wait, or have no new treatment?",
    "How will we know whether the treatment is working, and what happens if it is not?",
    "Which of these options can I have here, and what will it cost me?",
)


@dataclass(frozen=True)
class SummaryInput:
    result: dict[str, Any]
    grid: dict[str, Any]
    options: list[OptionFacts]
    ratings: dict[str, float]
    condition: dict[str, Any] | None
    sources: dict[str, str]
    catalog_date: datetime | None
    chosen_therapy_id: str | None = None
    note: str | None = None


def _priorities(ratings: dict[str, float]) -> list[dict[str, Any]]:
    order = list(CRITERION_WORDS)
    known = [(name, value) for name, value in ratings.items() if name in CRITERION_WORDS]
    ordered = sorted(known, key=lambda item: (-item[1], order.index(item[0])))
    return [{"words": CRITERION_WORDS[name], "rating": f"{value:g}"} for name, value in ordered]


def _arrays(options: list[OptionFacts], *, scale: int, pdf: bool) -> list[dict[str, Any]]:
    """Each option's first icon array: inline SVG for the page, or for the PDF the print form
    (a path per panel and kind of icon, see api/icon_array.py) as an image."""
    arrays = []
    for option in options:
        good = [f for f in option.figures if f.get("higher_is_better", True)] or option.figures
        if not good:
            continue
        figure = icon_figure(good[0], short_name(option.result["name"]))
        svg = render_icon_array(figure, for_print=pdf)
        width, height = _size(svg)
        arrays.append(
            {
                "svg": None if pdf else Markup(svg),  # our own template's output, escaped there
                "base64": base64.b64encode(svg.encode()).decode() if pdf else None,
                "desc": describe(figure),
                "name": short_name(option.result["name"]),
                # The PDF's image size (xhtml2pdf draws it in points); the HTML keeps the SVG's own.
                "width": width // scale,
                "height": height // scale,
            }
        )
    return arrays


def _size(svg: str) -> tuple[int, int]:
    head = svg[: svg.index(">")]
    width = int(float(head.split('width="', 1)[1].split('"', 1)[0]))
    height = int(float(head.split('height="', 1)[1].split('"', 1)[0]))
    return width, height


def _first_sentence(text: str) -> tuple[str, str]:
    """The first sentence of `text` and the rest (either may be empty)."""
    parts = re.split(r"(?<=[.!?])\s+", " ".join(text.split()), maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _grouped(items: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """(option name, message) pairs said once each: a message several options share is one
    line naming them all; messages that open with the same sentence (\"Past treatment for this
    illness is not known.\") share that sentence, then each option's own words follow. Nothing
    is dropped and every option's words stay its own, so a long list of options does not repeat
    the same sentence a dozen times (long-term MG, history unknown: 1,160 words, 520 this way)."""
    by_message: dict[str, list[str]] = {}
    for name, message in items:
        names = by_message.setdefault(message, [])
        if name not in names:
            names.append(name)
    by_lead: dict[str, list[tuple[str, str]]] = {}
    for message, names in by_message.items():
        lead, rest = _first_sentence(message)
        by_lead.setdefault(lead, []).append((", ".join(names), rest))
    entries: list[dict[str, Any]] = []
    for lead, parts in by_lead.items():
        if len(parts) == 1 or not all(rest for _, rest in parts):
            for listed, rest in parts:
                text = f"{lead} {rest}".strip()
                entries.append({"lead": "", "parts": [{"names": listed, "text": text}]})
            continue
        # Sentences every message of the group opens with are said once, in the lead.
        while True:
            seconds = {_first_sentence(rest) for _, rest in parts}
            if len({first for first, _ in seconds}) != 1 or not all(more for _, more in seconds):
                break
            lead += " " + next(iter(seconds))[0]
            parts = [(listed, _first_sentence(rest)[1]) for listed, rest in parts]
        entries.append({"lead": lead, "parts": [{"names": n, "text": rest} for n, rest in parts]})
    return entries


def _cautions(result: dict[str, Any]) -> list[dict[str, Any]]:
    return _grouped(
        [
            (short_name(option["name"]), caution["message"])
            for option in result["ranked"]
            for caution in option["cautions"]
        ]
    )


def _later(result: dict[str, Any]) -> list[dict[str, Any]]:
    return _grouped(
        [
            (item["name"], " ".join(r["message"] for r in item["reasons"]))
            for item in result.get("later", [])
        ]
    )


def _option_blocks(
    options: list[dict[str, Any]], rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The grid by option: answers shared by every option, then one block per option."""
    shared = [
        row for row in rows if len({(c["text"], tuple(c["sources"])) for c in row["cells"]}) == 1
    ]
    own = [row for row in rows if row not in shared]
    blocks = [
        {
            **option,
            "answers": [
                {"id": row["id"], "question": row["question"], **row["cells"][index]} for row in own
            ],
        }
        for index, option in enumerate(options)
    ]
    common = [{"question": row["question"], **row["cells"][0]} for row in shared]
    return common, blocks


# How much the summary says about each option follows how much there is to say, so that every
# summary prints on two landscape A4 pages (tested for every condition of the seed, at ages 8 and
# 45, history unknown and none). One rule for every option, so no option gets more words:
# - "grid": the option grid as it is, a column per option (up to six options; more columns are
#   too narrow to read);
# - "blocks": past six options, each option is a block of its answers, three side by side, and
#   an answer the same for every option is said once;
# - "brief": past FULL_WORDS_AT_MOST words (answers, cautions, what comes later and citations),
#   a table with a row per option and a column per question, each answer its short form (its
#   first sentence, cut to `brief_words(options)` words), the option grid named as where the
#   full answers are, smaller icon arrays, shortened citations and 6-6.5 pt print.
# Measured on the seed (xhtml2pdf): ITP with no history, 3 options and 1,067 words, fills two
# pages as a grid; CIDP with history unknown, 6 options and 1,806 words, took three.
GRID_OPTIONS_AT_MOST = 6
FULL_WORDS_AT_MOST = 1500
BRIEF_WORDS = 12
BRIEF_WORDS_ALL = 140  # words per question across all options
BRIEF_WORDS_LEAST = 6
# The chance an option helps keeps its whole first sentence (the option's and the comparator's
# natural frequencies, IPDAS), for every option alike.
BRIEF_WORDS_FOR = {"chance": 30}
# ... which also answers "what happens with no new treatment" (the comparator's frequency), so
# the short form leaves that question to the option grid, for every option alike.
BRIEF_LEAVES_OUT = frozenset({"without"})
CITATION_WORDS = 10
# A case the rule does not foresee (many cautions, the longest note) may still overflow: the PDF
# is then drawn again, first in the short form, then each time with SQUEEZE_WORDS fewer words per
# answer, chance and citation (every option alike). Only the PDF: HTML has no pages.
PAGES_AT_MOST = 2
SQUEEZES = 3
SQUEEZE_WORDS = 4
ARRAYS_PER_ROW = {"grid": 3, "blocks": 3, "brief": 5}
BLOCKS_PER_ROW = 3


def _words(text: str) -> int:
    return len(text.split())


def _grouped_words(entries: list[dict[str, Any]]) -> int:
    return sum(
        _words(entry["lead"]) + sum(_words(p["names"]) + _words(p["text"]) for p in entry["parts"])
        for entry in entries
    )


def density(*, options: int, words: int) -> str:
    """How much the summary says per option: "grid", "blocks" or "brief" (see above)."""
    if words > FULL_WORDS_AT_MOST:
        return "brief"
    return "grid" if options <= GRID_OPTIONS_AT_MOST else "blocks"


def brief_words(options: int) -> int:
    """Words per short answer: BRIEF_WORDS up to 13 options, fewer past that (16 options: 8)."""
    return max(BRIEF_WORDS_LEAST, min(BRIEF_WORDS, BRIEF_WORDS_ALL // max(options, 1)))


def _short(text: str, question: str, *, limit: int, less: int) -> str:
    """An answer's short form: its first sentence, cut to `limit` words (the chance: its own
    limit, `less` words fewer when squeezed)."""
    if question in BRIEF_WORDS_FOR:
        limit = BRIEF_WORDS_FOR[question] - less
    return brief(_first_sentence(text)[0], limit)


def _short_citation(citation: str, limit: int) -> str:
    cut = citation.split()
    return citation if len(cut) <= limit else " ".join(cut[:limit]) + "…"


def _numbered(
    rows: list[dict[str, Any]], numbers: dict[str, int], *, short: int | None, less: int = 0
) -> list[Any]:
    return [
        {
            **row,
            "cells": [
                {
                    **cell,
                    "text": _short(cell["text"], row["id"], limit=short, less=less)
                    if short
                    else cell["text"],
                    "refs": ", ".join(str(numbers[s]) for s in cell["sources"]),
                }
                for cell in row["cells"]
            ],
        }
        for row in rows
    ]


def summary_context(data: SummaryInput, *, pdf: bool, squeeze: int = 0) -> dict[str, Any]:
    """The template's context; `squeeze` (PDF only) asks for shorter answers than the rule's."""
    result, grid = data.result, data.grid
    names = {o["therapy_id"]: o["name"] for o in result["ranked"]}
    cited = sorted(
        {s for row in grid["rows"] for cell in row["cells"] for s in cell["sources"]}
        | ({data.condition["source"]} if data.condition else set())
    )
    # Sources are numbered in the page ("[3]") and cited in full once, in small print.
    numbers = {source: index for index, source in enumerate(cited, start=1)}
    options = [
        {
            **o,
            "short_name": short_name(o["name"]),
            "chosen": o["therapy_id"] == data.chosen_therapy_id,
        }
        for o in grid["options"]
    ]
    condition = {
        "name": result["condition"]["name"],
        "summary": brief(data.condition.get("summary") or "", 60) if data.condition else "",
        "ref": numbers[data.condition["source"]] if data.condition else None,
    }
    cautions, later = _cautions(result), _later(result)
    citations = [data.sources.get(s, s) for s in cited]
    words = (
        sum(_words(c["text"]) + len(c["sources"]) for row in grid["rows"] for c in row["cells"])
        + _grouped_words(cautions)
        + _grouped_words(later)
        + sum(_words(c) for c in citations)
    )
    level = "brief" if squeeze else density(options=len(options), words=words)
    less = SQUEEZE_WORDS * max(squeeze - 1, 0)
    if level == "brief":
        citations = [_short_citation(c, CITATION_WORDS - less) for c in citations]
    short = max(brief_words(len(options)) - less, BRIEF_WORDS_LEAST) if level == "brief" else None
    rows = _numbered(grid["rows"], numbers, short=short, less=less)
    if level == "brief":
        rows = [row for row in rows if row["id"] not in BRIEF_LEAVES_OUT]
    return {
        "pdf": pdf,
        "density": level,
        "condition": condition,
        "catalog_version": result["catalog_version"],
        "catalog_date": data.catalog_date.date().isoformat() if data.catalog_date else None,
        "ordering_basis": result["ordering_basis"],
        "priorities": _priorities(data.ratings),
        "chosen": names.get(data.chosen_therapy_id or ""),
        "note": data.note,
        "options": options,
        "rows": rows,
        "blocks": _option_blocks(options, rows) if level != "grid" else None,
        "blocks_per_row": BLOCKS_PER_ROW,
        "arrays": _arrays(data.options, scale=4 if level == "brief" else 3, pdf=pdf),
        "arrays_per_row": ARRAYS_PER_ROW[level],
        "cautions": cautions,
        "later": later,
        "questions": QUESTIONS,
        "sources": [
            {"number": number, "citation": citation}
            for number, citation in enumerate(citations, start=1)
        ],
    }


def render_summary_html(data: SummaryInput) -> str:
    return environment().get_template("summary.html.j2").render(summary_context(data, pdf=False))


def render_summary_pdf(data: SummaryInput) -> bytes:
    pdf, drawn = b"", ""
    template = environment().get_template("summary.html.j2")
    for squeeze in range(SQUEEZES + 1):
        html = template.render(summary_context(data, pdf=True, squeeze=squeeze))
        if html == drawn:
            # Squeeze 1 asks for the short form, which the rule may have chosen already: the
            # same page again would overflow again (16 options with the longest note: one
            # draw of three, ~0.2-0.45 s, was this repeat).
            continue
        pdf, drawn = _draw_pdf(html), html
        if _pages(pdf) <= PAGES_AT_MOST:
            break
    return pdf


def _pages(pdf: bytes) -> int:
    # reportlab writes every page as its own object, never in an object stream.
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def _draw_pdf(html: str) -> bytes:
    from reportlab import rl_config
    from xhtml2pdf import pisa

    rl_config.invariant = True  # no creation time or random document id: the same bytes
    out = io.BytesIO()
    # capacity=-1: buffers stay in memory. Past its default 100 kB xhtml2pdf spools to a temp
    # file it never closes (a ResourceWarning per summary with several icon arrays).
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8", capacity=-1)
    if status.err:
        raise RuntimeError(f"the PDF could not be drawn ({status.err} errors)")
    return out.getvalue()
