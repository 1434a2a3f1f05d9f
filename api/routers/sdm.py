"""Shared decision making in clinics: the option grid, icon arrays and the printable summary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import ScoringContextDep, scoring_context
from api.direct import DirectRoute, direct, json_body
from api.errors import NotFound
from api.icon_array import render_icon_array
from api.routers.score import score_one
from api.schemas.score import ScoreRequest
from api.schemas.sdm import OptionGrid, SummaryRequest
from api.scoring_io import check_chosen, encode
from api.sdm.grid import GridCells, OptionFacts, icon_figure, option_grid, short_name
from api.sdm.summary import SummaryInput, render_summary_html, render_summary_pdf
from api.sdm.texts import CatalogTexts
from db.releases import CONDITION, INDICATION, THERAPY, indication_key
from scoring.engine import option_costs
from scoring.model import CatalogSnapshot, OutcomeFigure
from scoring.weights import DEFAULT_RATINGS

router = APIRouter(prefix="/v1", tags=["shared decision making"], route_class=DirectRoute)

SVG = "image/svg+xml"
PDF = "application/pdf"
HTML = "text/html"


def options_of(
    result: dict[str, Any], texts: CatalogTexts, *, snapshot: CatalogSnapshot, body: ScoreRequest
) -> list[OptionFacts]:
    """The ranked options with their catalog entries at the result's version, and the cost the
    engine counted for each (`snapshot` is the one the result was scored on)."""
    condition_id = result["condition"]["id"]
    ranked = result["ranked"]
    entries = texts.entries(
        result["catalog_version"],
        condition_id=condition_id,
        therapy_ids=[o["therapy_id"] for o in ranked],
    )
    costs = option_costs(
        snapshot,
        condition_id=condition_id,
        region=body.preferences.region,
        # The case's weight is the request's as given (`case_from_request`); reading it from
        # the case built the whole case a second time (~5 µs of a ~240 µs grid request).
        weight_kg=body.patient.weight_kg,
    )
    return [
        OptionFacts(
            result=option,
            therapy=entries[(THERAPY, option["therapy_id"])],
            indication=entries.get(
                (INDICATION, indication_key(option["therapy_id"], condition_id))
            ),
            figures=list(option.get("outcome_figures", [])),
            cost=costs.get(option["therapy_id"], (None, None))[0],
            annual=costs.get(option["therapy_id"], (None, None))[1],
        )
        for option in ranked
        if entries.get((THERAPY, option["therapy_id"])) is not None
    ]


def catalog_texts(request: Request) -> CatalogTexts:
    texts: CatalogTexts = request.app.state.catalog_texts
    return texts


def grid_response(
    body: ScoreRequest, result: dict[str, Any], snapshot: CatalogSnapshot, texts: CatalogTexts
) -> Response:
    """The grid of a scored request. Blocking on a version's first grid, whose catalog wording
    is read from the database (`CatalogTexts.entries`); in memory after that."""
    options = options_of(result, texts, snapshot=snapshot, body=body)
    grid = option_grid(result, options, region=body.preferences.region, kept=GridCells.of(snapshot))
    return Response(encode(grid), media_type="application/json")


async def option_grid_direct(request: Request) -> Response | None:
    """`create_option_grid` for the usual request (JSON body, no query) without FastAPI's
    dependency solving and thread-pool hop (api/direct.py), in the event loop when the
    catalog's wording at the result's version is in memory. None: FastAPI's way."""
    body = await json_body(request, ScoreRequest)
    if body is None:
        return None
    snapshot = (await scoring_context(request)).snapshot
    result = score_one(body, snapshot)
    texts = catalog_texts(request)
    if texts.holds(
        result["catalog_version"],
        condition_id=result["condition"]["id"],
        therapy_ids=[o["therapy_id"] for o in result["ranked"]],
    ):
        return grid_response(body, result, snapshot, texts)
    return await run_in_threadpool(grid_response, body, result, snapshot, texts)


@router.post(
    "/option-grid",
    operation_id="option_grid",
    response_model=OptionGrid,
    responses={200: {"content": {"application/json": {}}}},
)
@direct(option_grid_direct)
def create_option_grid(
    body: ScoreRequest, context: ScoringContextDep, request: Request
) -> Response:
    """The options side by side, answering the questions patients ask (an aid, not advice)."""
    result = score_one(body, context.snapshot)
    return grid_response(body, result, context.snapshot, catalog_texts(request))


def find_figure(snapshot: CatalogSnapshot, figure_id: str) -> tuple[OutcomeFigure, str]:
    """The outcome figure with this catalog id and the name of its therapy."""
    names = {t.id: t.name for t in snapshot.therapies}
    for indication in snapshot.indications:
        for figure in indication.figures:
            if figure.id == figure_id:
                return figure, names.get(indication.therapy_id, indication.therapy_id)
    raise NotFound(
        f"No outcome figure '{figure_id}'. Figure ids are in `outcome_figures[].id` of a "
        "POST /v1/score result."
    )


@router.get(
    "/outcome-figures/{figure_id}/icon-array.svg",
    operation_id="icon_array",
    response_class=Response,
    responses={200: {"content": {SVG: {}}, "description": "An accessible SVG icon array"}},
)
async def icon_array(
    figure_id: Annotated[str, Path(min_length=1, max_length=120)], context: ScoringContextDep
) -> Response:
    """An outcome figure as an icon array: 100 people with the option, 100 with its comparator."""
    figure, therapy_name = find_figure(context.snapshot, figure_id)
    svg = render_icon_array(icon_figure(figure_dict(figure), short_name(therapy_name)))
    return Response(
        svg.encode(),
        media_type=SVG,
        headers={"X-Catalog-Version": str(context.snapshot.version)},
    )


def figure_dict(figure: OutcomeFigure) -> dict[str, Any]:
    """An engine outcome figure in the shape of `outcome_figures[]` in a score result."""
    comparator_events = figure.comparator_events
    return {
        "id": figure.id,
        "measure": figure.measure,
        "events": figure.events,
        "per": figure.per,
        "time_frame": figure.time_frame,
        "comparator": (
            {"label": figure.comparator or "comparison group", "events": comparator_events}
            if comparator_events is not None
            else None
        ),
    }


@router.post(
    "/summary",
    operation_id="summary",
    response_class=Response,
    responses={
        200: {
            "content": {HTML: {}, PDF: {}},
            "description": "A printable summary; `Accept: application/pdf` gives a PDF",
        }
    },
)
def summary(body: SummaryRequest, context: ScoringContextDep, request: Request) -> Response:
    """A one-to-two-page summary to take home: options, chances as pictures, what comes later."""
    pdf = PDF in request.headers.get("accept", "")
    return summary_response(body, context.snapshot, catalog_texts(request), pdf=pdf)


def summary_response(
    body: SummaryRequest, snapshot: CatalogSnapshot, texts: CatalogTexts, *, pdf: bool
) -> Response:
    """The summary as HTML or PDF (also posted as a form by the clinic page, api/routers/clinic)."""
    result = score_one(body, snapshot)
    if body.chosen_therapy_id is not None:
        check_chosen(body.chosen_therapy_id, result)
    options = options_of(result, texts, snapshot=snapshot, body=body)
    grid = option_grid(result, options, region=body.preferences.region, kept=GridCells.of(snapshot))
    condition_id = result["condition"]["id"]
    ratings = {c.value: v for c, v in DEFAULT_RATINGS.items()} | dict(body.weights)
    data = SummaryInput(
        result=result,
        grid=grid,
        options=options,
        ratings=ratings,
        condition=texts.entries(
            result["catalog_version"], condition_id=condition_id, therapy_ids=[]
        ).get((CONDITION, condition_id)),
        sources={s.id: s.citation for s in snapshot.sources.values()},
        catalog_date=texts.date(result["catalog_version"]),
        chosen_therapy_id=body.chosen_therapy_id,
        note=body.note,
    )
    if pdf:
        return Response(
            render_summary_pdf(data),
            media_type=PDF,
            headers={
                "Content-Disposition": 'inline; filename="tada-summary.pdf"',
                "Vary": "Accept",
            },
        )
    return Response(render_summary_html(data), media_type=HTML, headers={"Vary": "Accept"})
