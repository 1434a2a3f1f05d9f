"""Icon arrays: valid SVG, the right icons, accessible text, deterministic bytes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from api.icon_array import COMPARATOR_COLOUR, OPTION_COLOUR, IconArrayFigure, render_icon_array

SVG = "{http://www.w3.org/2000/svg}"
ICVIG = IconArrayFigure(
    figure_id="ivig-cidp-1",
    option_label="IVIG",
    measure="improved",
    events=54,
    per=100,
    time_frame="24 weeks",
    comparator_label="placebo",
    comparator_events=21,
)


def _panels(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f"{SVG}g[@class='panel']")


def test_option_and_comparator_are_side_by_side_with_100_icons_each() -> None:
    svg = render_icon_array(ICVIG)
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    option, comparator = _panels(svg)
    circles = option.findall(f"{SVG}circle")
    squares = comparator.findall(f"{SVG}rect")
    assert len(circles) == len(squares) == 100
    assert sum(c.get("class") == "event" for c in circles) == 54
    assert sum(s.get("class") == "event" for s in squares) == 21
    # Not colour alone: events are filled, the others empty outlines, and the shapes differ.
    assert {c.get("fill") for c in circles if c.get("class") == "event"} == {OPTION_COLOUR}
    assert {s.get("fill") for s in squares if s.get("class") == "event"} == {COMPARATOR_COLOUR}
    assert {c.get("fill") for c in circles if c.get("class") == "no-event"} == {"#ffffff"}


def test_title_desc_and_legend_say_the_numbers_in_words() -> None:
    root = ET.fromstring(render_icon_array(ICVIG))
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None
    assert title.text
    assert desc is not None
    assert desc.text == (
        "About 54 in 100 people improved with IVIG, against 21 in 100 with placebo, over 24 weeks."
    )
    labelled_by = (root.get("aria-labelledby") or "").split()
    assert labelled_by == [title.get("id"), desc.get("id")]
    legend = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Filled: improved" in legend
    assert "Empty outline" in legend


def test_without_a_comparator_there_is_one_array() -> None:
    figure = IconArrayFigure("x-1", "rituximab", "had a serious infection", 3, 1000, "1 year")
    svg = render_icon_array(figure)
    (panel,) = _panels(svg)
    icons = panel.findall(f"{SVG}circle")
    assert len(icons) == 1000
    assert sum(i.get("class") == "event" for i in icons) == 3
    desc = ET.fromstring(svg).find(f"{SVG}desc")
    assert desc is not None
    assert desc.text == (
        "About 3 in 1000 people had a serious infection with rituximab, over 1 year."
    )


@pytest.mark.parametrize("label", ["<script>", "A & B", '"quoted"'])
def test_catalog_text_is_escaped(label: str) -> None:
    figure = IconArrayFigure("x-1", label, "improved", 1, 100, "1 year", label, 2)
    root = ET.fromstring(render_icon_array(figure))
    assert root.find(f"{SVG}desc") is not None


RARE = IconArrayFigure("x-1", "rituximab", "had a serious infection", 3, 1000, "1 year")
NONE_ON_PLACEBO = IconArrayFigure(
    "x-2", "avatrombopag", "responded", 100, 100, "8 days", "placebo", 0
)
START = re.compile(r"M([0-9.]+) ([0-9.]+)")


def _starts(icons: list[ET.Element]) -> list[float]:
    """Where the print form's path starts each of these icons, as x, y, x, y...: a circle at
    its left edge, a square at its corner."""
    starts = []
    for icon in icons:
        if icon.tag == f"{SVG}circle":
            starts += [
                float(icon.get("cx", "")) - float(icon.get("r", "")),
                float(icon.get("cy", "")),
            ]
        else:
            starts += [float(icon.get("x", "")), float(icon.get("y", ""))]
    return starts


def _words(root: ET.Element) -> list[str | None]:
    return [root.findtext(f"{SVG}title"), root.findtext(f"{SVG}desc")] + [
        t.text for t in root.iter(f"{SVG}text")
    ]


@pytest.mark.parametrize("figure", [ICVIG, RARE, NONE_ON_PLACEBO], ids=lambda f: f.figure_id)
def test_the_print_form_draws_the_same_icons_as_one_path_per_kind(figure: IconArrayFigure) -> None:
    """For the PDF each panel's events are one path and the others another: the same places,
    shapes, fills and words as an element per icon."""
    full = render_icon_array(figure)
    compact = render_icon_array(figure, for_print=True)
    full_root, print_root = ET.fromstring(full), ET.fromstring(compact)
    assert _words(print_root) == _words(full_root)
    assert print_root.attrib == full_root.attrib
    panels = list(zip(_panels(full), _panels(compact), strict=True))
    assert len(panels) == (1 if figure.comparator_events is None else 2)
    for full_panel, print_panel in panels:
        assert not print_panel.findall(f"{SVG}circle") + print_panel.findall(f"{SVG}rect")
        icons = [i for i in full_panel if i.tag in (f"{SVG}circle", f"{SVG}rect")]
        assert len(icons) == figure.per
        for kind in ("event", "no-event"):
            drawn = [i for i in icons if i.get("class") == kind]
            paths = print_panel.findall(f"{SVG}path[@class='{kind}']")
            if not drawn:
                assert not paths  # no empty path
                continue
            (path,) = paths
            for attribute in ("fill", "stroke", "stroke-width"):
                assert {path.get(attribute)} == {i.get(attribute) for i in drawn}
            d = path.get("d", "")
            starts = [float(n) for point in START.findall(d) for n in point]
            assert starts == pytest.approx(_starts(drawn), abs=0.01)
            # Each icon is one closed outline: two half arcs (a circle) or four sides (a square).
            outlines = START.split(d)[3::3]
            assert len(outlines) == len(drawn) == d.count("z")
            circle = drawn[0].tag == f"{SVG}circle"
            assert all(o.count("a") == 2 if circle else o.count("h") == 2 for o in outlines)


def test_the_same_figure_gives_the_same_bytes() -> None:
    assert render_icon_array(ICVIG).encode() == render_icon_array(ICVIG).encode()
    assert render_icon_array(ICVIG, for_print=True) == render_icon_array(ICVIG, for_print=True)


def test_the_endpoint_draws_a_catalog_figure_by_its_id(client: TestClient) -> None:
    response = client.get("/v1/outcome-figures/ivig-cidp-1/icon-array.svg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    option, comparator = _panels(response.text)
    assert sum(c.get("class") == "event" for c in option.findall(f"{SVG}circle")) == 54
    assert sum(s.get("class") == "event" for s in comparator.findall(f"{SVG}rect")) == 21
    desc = ET.fromstring(response.text).find(f"{SVG}desc")
    assert desc is not None
    assert desc.text is not None
    assert "About 54 in 100 people" in desc.text
    assert "against 21 in 100 with placebo, over 24 weeks" in desc.text
    assert client.get("/v1/outcome-figures/ivig-cidp-1/icon-array.svg").content == response.content


def test_every_figure_a_result_names_renders(client: TestClient) -> None:
    conditions = [c["id"] for c in client.get("/v1/conditions").json()["items"]]
    seen = set()
    for condition in conditions:
        result = client.post("/v1/score", json={"condition": condition}).json()
        for option in result["ranked"]:
            for figure in option["outcome_figures"]:
                seen.add((figure["id"], figure["events"], figure["per"]))
    assert seen
    for figure_id, events, per in sorted(seen):
        response = client.get(f"/v1/outcome-figures/{figure_id}/icon-array.svg")
        assert response.status_code == 200, figure_id
        panels = _panels(response.text)
        icons = [i for i in panels[0] if i.tag in (f"{SVG}circle", f"{SVG}rect")]
        assert len(icons) == per
        assert sum(i.get("class") == "event" for i in icons) == events


def test_an_unknown_figure_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/v1/outcome-figures/nope/icon-array.svg")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
