"""The printable summary a patient takes home: HTML with print CSS, or the same page as a PDF.

One Jinja2 template makes both. The PDF is drawn by xhtml2pdf (pure Python, with reportlab and
svglib: wheels from PyPI, no system libraries), so `pip install -e .` alone gives working PDFs.
The content is assembled here from a score result and its option grid; every clinical sentence
comes from the catalog (through the grid and the result's cautions and `later[]`).
"""

from __future__ import annotations

import base64
import io
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


def _arrays(options: list[OptionFacts]) -> list[dict[str, Any]]:
    arrays = []
    for option in options:
        good = [f for f in option.figures if f.get("higher_is_better", True)] or option.figures
        if not good:
            continue
        figure = icon_figure(good[0], short_name(option.result["name"]))
        svg = render_icon_array(figure)
        width, height = _size(svg)
        arrays.append(
            {
                "svg": Markup(svg),  # our own template's output, escaped there
                "base64": base64.b64encode(svg.encode()).decode(),
                "desc": describe(figure),
                "width": width,
                "height": height,
            }
        )
    return arrays


def _size(svg: str) -> tuple[int, int]:
    head = svg[: svg.index(">")]
    width = int(float(head.split('width="', 1)[1].split('"', 1)[0]))
    height = int(float(head.split('height="', 1)[1].split('"', 1)[0]))
    return width, height


def _cautions(result: dict[str, Any]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    cautions = []
    for option in result["ranked"]:
        for caution in option["cautions"]:
            key = (option["therapy_id"], caution["message"])
            if key not in seen:
                seen.add(key)
                cautions.append({"name": short_name(option["name"]), "message": caution["message"]})
    return cautions


def _later(result: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "name": item["name"],
            "message": " ".join(r["message"] for r in item["reasons"]),
        }
        for item in result.get("later", [])
    ]


# Past this many options the grid's narrow columns leave most of each row empty (MS's nine
# first-line options took three landscape pages, now two): the options are then shown as
# blocks, three side by side, each with every question, and an answer the same for every option
# is said once. (Two or four side by side measured worse: a row of blocks never splits.)
GRID_OPTIONS_AT_MOST = 6


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
            "answers": [{"question": row["question"], **row["cells"][index]} for row in own],
        }
        for index, option in enumerate(options)
    ]
    common = [{"question": row["question"], **row["cells"][0]} for row in shared]
    return common, blocks


def summary_context(data: SummaryInput, *, pdf: bool) -> dict[str, Any]:
    result, grid = data.result, data.grid
    names = {o["therapy_id"]: o["name"] for o in result["ranked"]}
    cited = sorted(
        {s for row in grid["rows"] for cell in row["cells"] for s in cell["sources"]}
        | ({data.condition["source"]} if data.condition else set())
    )
    options = [{**o, "chosen": o["therapy_id"] == data.chosen_therapy_id} for o in grid["options"]]
    condition = {
        "name": result["condition"]["name"],
        "summary": brief(data.condition.get("summary") or "", 60) if data.condition else "",
        "source": data.condition.get("source") if data.condition else None,
    }
    return {
        "pdf": pdf,
        "condition": condition,
        "catalog_version": result["catalog_version"],
        "catalog_date": data.catalog_date.date().isoformat() if data.catalog_date else None,
        "ordering_basis": result["ordering_basis"],
        "priorities": _priorities(data.ratings),
        "chosen": names.get(data.chosen_therapy_id or ""),
        "note": data.note,
        "options": options,
        "rows": grid["rows"],
        "blocks": _option_blocks(options, grid["rows"])
        if len(options) > GRID_OPTIONS_AT_MOST
        else None,
        "arrays": _arrays(data.options),
        "cautions": _cautions(result),
        "later": _later(result),
        "questions": QUESTIONS,
        "sources": [{"id": s, "citation": data.sources.get(s, s)} for s in cited],
    }


def render_summary_html(data: SummaryInput) -> str:
    return environment().get_template("summary.html.j2").render(summary_context(data, pdf=False))


def render_summary_pdf(data: SummaryInput) -> bytes:
    from reportlab import rl_config
    from xhtml2pdf import pisa

    rl_config.invariant = True  # no creation time or random document id: the same bytes
    html = environment().get_template("summary.html.j2").render(summary_context(data, pdf=True))
    out = io.BytesIO()
    # capacity=-1: buffers stay in memory. Past its default 100 kB xhtml2pdf spools to a temp
    # file it never closes (a ResourceWarning per summary with several icon arrays).
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8", capacity=-1)
    if status.err:
        raise RuntimeError(f"the PDF could not be drawn ({status.err} errors)")
    return out.getvalue()
