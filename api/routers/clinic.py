"""The clinic page: a shared-decision-making screen over the JSON API (no external assets).

`GET /clinic` renders the page shell (steps 1-3: the condition, the facts, what matters) from
the catalog snapshot with Jinja2; the page's own script (`/clinic/static/clinic.js`) calls the
same public API as any integration (`/v1/score`, `/v1/preferences/elicit`, `/v1/option-grid`,
`/v1/outcome-figures/{id}/icon-array.svg`, `/v1/summary` for the PDF, `/v1/decisions`) and builds
steps 4-5 from the answers; the HTML summary opens in its own tab through `POST /clinic/summary`.
The rendered page is the same for every visitor of one catalog version, so it is cached per
version: serving it costs a snapshot check, not a render (see README, "The clinic page").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from api.catalog_cache import CatalogCache
from api.deps import ScoringContextDep
from api.errors import InvalidInput
from api.plain_words import CRITERION_HEADINGS, CRITERION_LABELS, STRENGTH_WORDS
from api.routers.preferences import question_list
from api.routers.sdm import catalog_texts, summary_response
from api.schemas.score import ORDERING_BASIS
from api.schemas.sdm import SummaryRequest
from db.queries import list_risk_factors
from scoring.model import CRITERIA, CareSetting, CatalogSnapshot

router = APIRouter(tags=["clinic"], include_in_schema=False)

STATIC_DIR = Path(str(files("api") / "static" / "clinic"))
NOT_ADVICE = "TADA orders options by the priorities you stated; it is not a recommendation."

CODE_SYSTEMS = {
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://snomed.info/sct": "SNOMED CT",
}
SETTING_LABELS = {
    CareSetting.HOSPITAL: "In hospital",
    CareSetting.INFUSION_CENTER: "At an infusion centre",
    CareSetting.HOME: "At home",
}
# The page's own resources only: no CDN, no inline script (the data block is JSON, not run).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class RenderedPage:
    version: int
    body: bytes


class ClinicPageCache:
    """The rendered page for the current catalog version (one entry; a new version replaces it)."""

    def __init__(self) -> None:
        self._page: RenderedPage | None = None

    def get(self, version: int) -> bytes | None:
        page = self._page
        return page.body if page is not None and page.version == version else None

    def put(self, version: int, body: bytes) -> None:
        self._page = RenderedPage(version, body)


def _script_json(data: Any) -> str:
    """JSON safe inside a <script type="application/json"> element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_context(snapshot: CatalogSnapshot, risk_factors: list[tuple[str, str]]) -> dict[str, Any]:
    names: dict[str, str] = {t.id: t.name for t in snapshot.therapies}
    conditions = []
    for condition in sorted(snapshot.conditions, key=lambda c: c.name.lower()):
        therapy_ids = sorted(
            {i.therapy_id for i in snapshot.indications if i.condition_id == condition.id},
            key=lambda t: (names.get(t) or t).lower(),
        )
        conditions.append(
            {
                "id": condition.id,
                "name": condition.name,
                "codes": [
                    {"system": system, "label": CODE_SYSTEMS.get(system, system), "code": code}
                    for system, code in condition.codes
                ],
                "therapies": [{"id": t, "name": names.get(t, t)} for t in therapy_ids],
            }
        )
    questions = question_list()
    data = {
        "catalog_version": snapshot.version,
        "conditions": conditions,
        "criteria": [
            {"id": c.value, "heading": CRITERION_HEADINGS[c], "label": CRITERION_LABELS[c]}
            for c in CRITERIA
        ],
        "questions": [q.model_dump() for q in questions.items],
        "strengths": {str(v): label for v, label in STRENGTH_WORDS.items()},
        "settings": {s.value: label for s, label in SETTING_LABELS.items()},
        "risk_factors": dict(risk_factors),
        "sources": {
            s.id: [s.citation, s.url or ""]
            for s in sorted(snapshot.sources.values(), key=lambda s: s.id)
        },
    }
    return {
        "catalog_version": snapshot.version,
        "conditions": conditions,
        "criteria": data["criteria"],
        "questions": questions.items,
        "first_questions": [q for q in questions.items if q.a.criterion == CRITERIA[0].value],
        "more_questions": [q for q in questions.items if q.a.criterion != CRITERIA[0].value],
        "strengths": [(v, label) for v, label in STRENGTH_WORDS.items() if v > 1],
        "settings": [(s.value, label) for s, label in SETTING_LABELS.items()],
        "risk_factors": risk_factors,
        "not_advice": NOT_ADVICE,
        "ordering_basis": ORDERING_BASIS,
        "page_data": _script_json(data),
    }


def render_page(snapshot: CatalogSnapshot, factory: sessionmaker[Session]) -> bytes:
    with factory() as session:
        factors = [(f.id, f.label) for f in list_risk_factors(session)]
    factors.sort(key=lambda f: f[1].lower())
    template = _templates.get_template("clinic/page.html")
    return template.render(page_context(snapshot, factors)).encode("utf-8")


@router.get("/clinic", operation_id="clinic_page")
async def clinic_page(request: Request) -> Response:
    """The clinic page: condition, facts, what matters, the options side by side, print/record."""
    state = request.app.state
    cache: CatalogCache = state.catalog_cache
    snapshot = cache.fresh()
    if snapshot is None:
        snapshot = await run_in_threadpool(cache.get)
    pages: ClinicPageCache = state.clinic_pages
    body = pages.get(snapshot.version)
    if body is None:
        body = await run_in_threadpool(render_page, snapshot, state.session_factory)
        pages.put(snapshot.version, body)
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.post("/clinic/summary", operation_id="clinic_summary")
async def clinic_summary(request: Request, context: ScoringContextDep) -> Response:
    """The printable summary opened in its own tab: the page posts the request as a form.

    A form post, not `fetch` + a blob URL, because a blob document inherits the clinic page's
    content security policy, which would block the summary's own styles. The body is
    `request=<the POST /v1/summary JSON>&format=html|pdf`; nothing is stored, so a cross-site
    form post can do no harm (the page uses no cookies at all).
    """
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=4)
    raw = form.get("request", [""])[0]
    try:
        body = SummaryRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = [
            {
                "path": "body/" + "/".join(str(p) for p in e["loc"]),
                "message": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        raise InvalidInput("The summary request is not valid.", errors=errors) from exc
    pdf = form.get("format", ["html"])[0] == "pdf"
    return await run_in_threadpool(
        summary_response, body, context.snapshot, catalog_texts(request), pdf=pdf
    )
