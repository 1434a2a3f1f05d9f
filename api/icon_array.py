"""Icon arrays (IPDAS): an outcome figure as 100 (or 1,000) people, drawn from a Jinja2 template.

What the picture must do (docs/decisions and the decision-aid reference): the option's people
and, where the study had one, the comparator's people side by side on the same denominator;
events are *filled* and non-events *empty outlines*, and the option's icons are circles while
the comparator's are squares, so nothing depends on colour alone; the two colours are the
Okabe-Ito blue and vermillion, distinguishable with the common colour-vision deficiencies; a
legend in words; `role="img"` with a `<title>` and a `<desc>` that states the numbers. The same
figure always gives the same bytes (no clocks, no random ids: element ids come from the figure id).

For print (the PDF summary) the same icons are drawn as one path per panel for the events and
one for the others, instead of an element per icon: xhtml2pdf hands the SVG to svglib, which
converts and styles one element at a time, so 200 elements cost ~28 ms per conversion against
~6 ms for the paths, and xhtml2pdf converts each image twice
(docs/decisions/0012-pdf-render-cost.md). The icons' places, shapes, fills and every word are
the same in both forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from api.templates import environment

OPTION_COLOUR = "#0072B2"  # Okabe-Ito blue
COMPARATOR_COLOUR = "#D55E00"  # Okabe-Ito vermillion


@dataclass(frozen=True)
class IconArrayFigure:
    figure_id: str
    option_label: str
    measure: str
    events: int
    per: int
    time_frame: str
    comparator_label: str | None = None
    comparator_events: int | None = None


def _layout(per: int) -> tuple[int, int]:
    """Columns and icon pitch (px): 10 x 10 for 100 people, 40 x 25 for 1,000."""
    return (10, 18) if per <= 100 else (40, 6)


def frame_words(time_frame: str) -> str:
    """', over 24 weeks' for a length of time; ' (soon after stopping)' for anything else."""
    text = time_frame.strip()
    if not text:
        return ""
    return f", over {text}" if text[0].isdigit() else f" ({text})"


def describe(figure: IconArrayFigure) -> str:
    """The numbers in words, e.g. "About 54 in 100 people improved with IVIG, against 21 in 100
    with placebo, over 24 weeks." """
    frame = frame_words(figure.time_frame)
    text = f"About {figure.events} in {figure.per} people {figure.measure}"
    text += f" with {figure.option_label}"
    if figure.comparator_events is not None:
        label = figure.comparator_label or "the comparison group"
        text += f", against {figure.comparator_events} in {figure.per} with {label}"
    return f"{text}{frame}."


def _dom_id(figure_id: str) -> str:
    return "ia-" + re.sub(r"[^A-Za-z0-9_-]", "-", figure_id)


def render_icon_array(figure: IconArrayFigure, *, for_print: bool = False) -> str:
    """The figure as SVG: an element per icon, or with `for_print` a path per panel for the
    events and one for the others (the same icons; see the module's docstring)."""
    columns, pitch = _layout(figure.per)
    rows = -(-figure.per // columns)
    grid_width = columns * pitch
    top = 44
    panels: list[dict[str, Any]] = []
    arrays = [(figure.option_label, figure.events, OPTION_COLOUR, "circle")]
    if figure.comparator_events is not None:
        label = figure.comparator_label or "Comparison group"
        arrays.append((label, figure.comparator_events, COMPARATOR_COLOUR, "square"))
    radius = pitch * 0.4
    side = pitch * 0.75
    for index, (label, events, colour, shape) in enumerate(arrays):
        icons = []
        for n in range(figure.per):
            row, column = divmod(n, columns)
            cx = column * pitch + pitch / 2
            cy = top + row * pitch + pitch / 2
            icons.append(
                {
                    "event": n < events,
                    "cx": _num(cx),
                    "cy": _num(cy),
                    "left": _num(cx - radius),
                    "x": _num(cx - side / 2),
                    "y": _num(cy - side / 2),
                }
            )
        panels.append(
            {
                "x": index * (grid_width + 48),
                "label": f"With {label}",
                "events": events,
                "colour": colour,
                "shape": shape,
                "icons": icons,
                "paths": _paths(icons, shape, radius=radius, side=side) if for_print else [],
            }
        )
    width = max(len(panels) * grid_width + (len(panels) - 1) * 48, 360)
    legend_y = top + rows * pitch + 20
    return (
        environment()
        .get_template("icon_array.svg.j2")
        .render(
            dom_id=_dom_id(figure.figure_id),
            title=f"{figure.measure[:1].upper()}{figure.measure[1:]}: {figure.option_label}",
            desc=describe(figure),
            panels=panels,
            per=figure.per,
            radius=_num(radius),
            side=_num(side),
            width=width,
            height=legend_y + 48,
            legend_y=legend_y,
            measure=figure.measure,
            frame=f"Out of {figure.per} people{frame_words(figure.time_frame)}",
        )
    )


def _paths(
    icons: list[dict[str, Any]], shape: str, *, radius: float, side: float
) -> list[dict[str, Any]]:
    """The events' icons as one path and the others as another (a path with no icon is left
    out): a circle is two half arcs from its left edge, a square its four sides."""
    r, d, s = _num(radius), _num(2 * radius), _num(side)
    arcs = f"a{r} {r} 0 1 0 {d} 0a{r} {r} 0 1 0 -{d} 0z"
    paths = []
    for event in (True, False):
        if shape == "circle":
            parts = [f"M{i['left']} {i['cy']}{arcs}" for i in icons if i["event"] is event]
        else:
            parts = [f"M{i['x']} {i['y']}h{s}v{s}h-{s}z" for i in icons if i["event"] is event]
        if parts:
            paths.append({"event": event, "d": "".join(parts)})
    return paths


def _num(value: float) -> str:
    """Coordinates as short, fixed text (deterministic bytes, no float noise)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
