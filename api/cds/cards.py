"""CDS Hooks 2.0.1 cards from engine results.

Shapes follow the spec's Card, Suggestion, Action, Link and Coding tables; the model validators
are the 3.0 FSH invariants (`cds-resp-1`, -3, -4, -5, -6). Optional fields are omitted, never
`null` or empty (serialise with `exclude_none`; no list defaults to `[]`).

Indicator policy: `critical` only when the therapy being ordered (or already ordered) is
excluded for this patient by the catalog (a contraindication, or an indication marked harmful /
not recommended / no role); `warning` when it carries a caution, or the catalog has no evidence
for it in the condition; `info` otherwise. No card when there is nothing useful to say: an
order that ranks first with no caution gets none.

Cards never recommend: options are "ordered by default priorities", suggestions are offered
without `isRecommended`, and every card says it is an aid.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from fhir.resources.R4B.medicationrequest import MedicationRequest
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.fhir.codes import FhirCodeLists
from api.fhir.intake import DerivedCase, DerivedOrder
from api.settings import Settings
from scoring.exclusions import NO_INDICATION
from scoring.model import CatalogSnapshot, RankedOption, Reason, Result

MEDICATION_SYSTEMS = frozenset(
    {
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "http://www.whocc.no/atc",
        "http://hl7.org/fhir/sid/ndc",
    }
)
# A catalog gap, not a contraindication: a warning, not critical.
NOT_AN_EXCLUSION = NO_INDICATION.code
ASK_PREFIX = "needs_check_"  # "not known for this patient": worth saying, not a warning
# Engine cautions about catalog data gaps or logistics, not about this patient's safety or
# supply: shown in the detail, but they do not make a card a warning.
NOTE_CODES = frozenset(
    {"cost_unknown", "availability_unknown", "slow_onset", "home_after_supervised_infusions"}
)
MAX_OPTIONS_IN_DETAIL = 6
DISCLAIMER = (
    "_Ordered by default priorities (all criteria weighted equally) for this patient's "
    "recorded constraints. TADA is a decision aid, not a recommendation; the choice rests "
    "with the patient and their clinician._"
)


class CdsCoding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    system: str = Field(min_length=1)
    display: str | None = None


class CardSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: CdsCoding | None = None

    @classmethod
    def for_settings(cls, settings: Settings, snapshot: CatalogSnapshot) -> CardSource:
        base = settings.public_base_url.rstrip("/")
        return cls(
            label=f"TADA decision aid (catalog v{snapshot.version})",
            url=f"{base}/docs",
        )


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)  # cds-resp-5
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _delete_by_id(self) -> Action:
        # cds-resp-2: a delete names resourceId and carries no resource.
        if self.type == "delete" and (self.resourceId is None or self.resource is not None):
            raise ValueError("a delete action needs resourceId and no resource")
        if self.type != "delete" and self.resource is None:
            raise ValueError("create/update actions carry the resource")
        return self


class Suggestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1)
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = Field(default=None, min_length=1)


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: Literal["absolute", "smart"]
    appContext: str | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context_only_smart(self) -> Link:
        if self.type != "smart" and self.appContext is not None:  # cds-resp-3
            raise ValueError("appContext is only valid on smart links")
        return self


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uuid: str
    summary: str = Field(min_length=1, max_length=139)  # "<140 characters"
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: CardSource
    suggestions: list[Suggestion] | None = Field(default=None, min_length=1)
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[CdsCoding] | None = Field(default=None, min_length=1)
    links: list[Link] | None = Field(default=None, min_length=1)

    @field_validator("overrideReasons")
    @classmethod
    def _reasons_have_display(cls, value: list[CdsCoding] | None) -> list[CdsCoding] | None:
        if value and any(not c.display for c in value):  # cds-resp-4
            raise ValueError("every override reason needs a display")
        return value

    @model_validator(mode="after")
    def _selection(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:  # cds-resp-6
            raise ValueError("suggestions need selectionBehavior")
        if self.selectionBehavior == "at-most-one" and self.suggestions:  # cds-resp-1
            if sum(1 for s in self.suggestions if s.isRecommended) > 1:
                raise ValueError("at most one recommended suggestion with at-most-one")
        return self


class CardsOut(BaseModel):
    cards: list[Card]

    def body(self) -> dict[str, Any]:
        """The JSON body: optional fields omitted (never null), `cards` always present."""
        return {"cards": [c.model_dump(mode="json", exclude_none=True) for c in self.cards]}


def override_reasons(settings: Settings) -> list[CdsCoding]:
    """Workflow reasons a clinician may give for overriding a card (TADA's own code system)."""
    system = f"{settings.public_base_url.rstrip('/')}/cds/override-reason"
    return [
        CdsCoding(system=system, code="discussed-with-patient", display="Discussed with patient"),
        CdsCoding(
            system=system,
            code="benefit-outweighs-caution",
            display="Benefit outweighs the caution for this patient",
        ),
        CdsCoding(system=system, code="record-out-of-date", display="Record data is out of date"),
        CdsCoding(system=system, code="other", display="Other reason"),
    ]


def _short(text: str, limit: int = 139) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _condition_name(snapshot: CatalogSnapshot, condition_id: str) -> str:
    return next((c.name for c in snapshot.conditions if c.id == condition_id), condition_id)


def _cite(reason: Reason, snapshot: CatalogSnapshot) -> str:
    source = snapshot.sources.get(reason.source) if reason.source else None
    if source is None:
        return ""
    return f" ({_citation(source.citation, source.url)})"


def _citation(text: str, url: str | None) -> str:
    return f"[{text}]({url})" if url else text


def _is_note(reason: Reason) -> bool:
    return reason.code.startswith(ASK_PREFIX) or reason.code in NOTE_CODES


def _real_cautions(option: RankedOption) -> list[Reason]:
    return [r for r in option.cautions if not _is_note(r)]


def _option_lines(option: RankedOption, snapshot: CatalogSnapshot) -> list[str]:
    lines = [f"{option.rank}. **{option.name}** — score {option.score:.2f}"]
    top = sorted(option.criteria.items(), key=lambda kv: kv[1].contribution, reverse=True)[:2]
    if top:
        reasons = "; ".join(f"{c.value}: {s.explanation}" for c, s in top)
        lines.append(f"    - Main reasons: {reasons}")
    for caution in option.cautions:
        mark = (
            "Check"
            if caution.code.startswith(ASK_PREFIX)
            else ("Note" if caution.code in NOTE_CODES else "⚠ Caution")
        )
        lines.append(f"    - {mark}: {caution.message}{_cite(caution, snapshot)}")
    if option.outcomes:
        lines.append(f"    - Outcomes: {'; '.join(option.outcomes[:2])}")
    if option.evidence:
        cited = "; ".join(_citation(e.citation, e.url) for e in option.evidence[:3])
        lines.append(f"    - Evidence: {cited}")
    return lines


def _facts_lines(case: DerivedCase) -> list[str]:
    facts = []
    if case.age_years is not None:
        facts.append(f"age {case.age_years:.0f}")
    if case.egfr is not None:
        trend = ", ".join(f"{v.value:g} on {v.date}" for v in case.egfr_history[:3])
        facts.append(
            f"eGFR {case.egfr.value:g} {case.egfr.unit or ''} on {case.egfr.date or 'unknown date'}"
            + (f" (earlier: {trend})" if trend else "")
            + (f" ({case.egfr.note})" if case.egfr.note else "")
        )
    if case.platelet_count is not None:
        facts.append(f"platelets {case.platelet_count.value:g} {case.platelet_count.unit or ''}")
    if case.igg_trough is not None:
        facts.append(f"IgG {case.igg_trough.value:g} {case.igg_trough.unit or ''}")
    if case.weight_kg is not None:
        facts.append(f"weight {case.weight_kg.value:.1f} kg")
    if case.pregnant is not None:
        facts.append("pregnant" if case.pregnant else "not pregnant")
    if case.risk_factors:
        facts.append("risk factors: " + ", ".join(r.risk_factor for r in case.risk_factors))
    if case.prior_treatments:
        given = sorted(
            {p.therapy_id + (" (current)" if p.ongoing else "") for p in case.prior_treatments}
        )
        facts.append("given before (response not recorded): " + ", ".join(given))
    lines = ["**Read from the record:** " + ("; ".join(f.strip() for f in facts) or "nothing")]
    unknown = [u for u in case.unknown if u != "condition"]
    if unknown:
        lines.append("**Not known (not guessed):** " + ", ".join(unknown))
    if case.set_aside:
        lines.append(
            "**Set aside (not used by TADA, failed validation):** "
            + "; ".join(case.set_aside[:5])
            + (f" and {len(case.set_aside) - 5} more" if len(case.set_aside) > 5 else "")
        )
    return lines


def result_detail(
    result: Result, case: DerivedCase, snapshot: CatalogSnapshot, heading: str | None = None
) -> str:
    name = _condition_name(snapshot, result.condition_id)
    lines = [heading or f"**Treatment options for {name}**", ""]
    for option in result.ranked[:MAX_OPTIONS_IN_DETAIL]:
        lines.extend(_option_lines(option, snapshot))
    if len(result.ranked) > MAX_OPTIONS_IN_DETAIL:
        lines.append(f"- and {len(result.ranked) - MAX_OPTIONS_IN_DETAIL} more")
    if result.later:
        lines += ["", "**Usually for a later decision point**", ""]
        for waiting in result.later:
            why = "; ".join(f"{r.message}{_cite(r, snapshot)}" for r in waiting.reasons)
            lines.append(f"- **{waiting.name}**: {why}")
    if result.excluded:  # only therapies named for the condition: none is a catalog gap
        lines += ["", "**Not suitable for this patient**", ""]
        for exclusion in result.excluded:
            why = "; ".join(f"{r.message}{_cite(r, snapshot)}" for r in exclusion.reasons)
            lines.append(f"- **{exclusion.name}**: {why}")
    lines += [
        "",
        *_facts_lines(case),
        "",
        DISCLAIMER,
        f"_Catalog version {result.catalog_version}._",
    ]
    return "\n".join(lines)


def _links(settings: Settings, condition_id: str, snapshot: CatalogSnapshot) -> list[Link]:
    if settings.sdm_link_url:
        context = json.dumps(
            {"condition": condition_id, "catalog_version": snapshot.version},
            separators=(",", ":"),
        )
        return [
            Link(
                label="Compare the options with the patient (TADA)",
                url=settings.sdm_link_url,
                type="smart",
                appContext=context,
            )
        ]
    base = settings.public_base_url.rstrip("/")
    return [
        Link(
            label="The options and their sources in the TADA catalog",
            url=f"{base}/v1/conditions/{condition_id}",
            type="absolute",
        )
    ]


def _card(
    *,
    summary: str,
    detail: str,
    indicator: Literal["info", "warning", "critical"],
    source: CardSource,
    topic: CdsCoding,
    links: list[Link],
    settings: Settings,
    suggestions: list[Suggestion] | None = None,
) -> Card:
    return Card(
        uuid=str(uuid.uuid4()),
        summary=_short(summary),
        detail=detail,
        indicator=indicator,
        source=source.model_copy(update={"topic": topic}),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=override_reasons(settings) if indicator != "info" else None,
        links=links,
    )


def _topic(settings: Settings, code: str, display: str) -> CdsCoding:
    return CdsCoding(
        system=f"{settings.public_base_url.rstrip('/')}/cds/topic", code=code, display=display
    )


def _find(result: Result, therapy_id: str) -> tuple[RankedOption | None, list[Reason] | None]:
    for option in result.ranked:
        if option.therapy_id == therapy_id:
            return option, None
    for exclusion in result.excluded:
        if exclusion.therapy_id == therapy_id:
            return None, list(exclusion.reasons)
    if any(waiting.therapy_id == therapy_id for waiting in result.later):
        return None, None
    # Not named for the condition at all: the result counts it (`not_indicated_count`).
    return None, [NO_INDICATION]


def _later(result: Result, therapy_id: str) -> list[Reason] | None:
    """The reasons an option waits for a later decision point (what usually comes first)."""
    for waiting in result.later:
        if waiting.therapy_id == therapy_id:
            return list(waiting.reasons)
    return None


def _assess(
    result: Result, therapy_id: str
) -> tuple[Literal["info", "warning", "critical"] | None, list[Reason], RankedOption | None]:
    """How the ordered therapy fares: (indicator or None for "nothing to say", reasons, option)."""
    waiting = _later(result, therapy_id)
    if waiting is not None:
        return "warning", waiting, None
    option, exclusion = _find(result, therapy_id)
    if exclusion is not None:
        real = [r for r in exclusion if r.code != NOT_AN_EXCLUSION]
        return ("critical", real, None) if real else ("warning", exclusion, None)
    if option is None:
        return None, [], None
    cautions = _real_cautions(option)
    if cautions:
        return "warning", cautions, option
    if option.rank > 1:
        return "info", [], option
    return None, [], option


# --------------------------------------------------------------------------------------------
# patient-view
# --------------------------------------------------------------------------------------------


def patient_view_cards(
    case: DerivedCase,
    results: dict[str, Result],
    snapshot: CatalogSnapshot,
    codes: FhirCodeLists,
    settings: Settings,
    source: CardSource,
) -> CardsOut:
    cards = []
    for condition_id, result in results.items():
        if not result.ranked and not result.excluded:
            continue
        name = _condition_name(snapshot, condition_id)
        indicator: Literal["info", "warning", "critical"] = "info"
        summary = f"{len(result.ranked)} treatment options for {name} ordered for this patient" + (
            f"; {len(result.excluded)} not suitable" if result.excluded else ""
        )
        current = [o for o in case.orders if o.status != "draft"]
        for order in current:
            level, reasons, _ = _assess(result, order.therapy_id)
            if level in {"warning", "critical"} and reasons:
                therapy = _therapy_name(snapshot, order.therapy_id)
                verb = "is excluded" if level == "critical" else "has a caution"
                summary = f"Current {therapy} {verb} for this patient: {reasons[0].message}"
                indicator = level
                break
        top = result.ranked[0].name if result.ranked else None
        heading = f"**Treatment options for {name}**" + (
            f" (first by default priorities: {top})" if top else ""
        )
        cards.append(
            _card(
                summary=summary,
                detail=result_detail(result, case, snapshot, heading),
                indicator=indicator,
                source=source,
                topic=_topic(settings, condition_id, name),
                links=_links(settings, condition_id, snapshot),
                settings=settings,
            )
        )
    return CardsOut(cards=cards)


def _therapy_name(snapshot: CatalogSnapshot, therapy_id: str) -> str:
    return next((t.name for t in snapshot.therapies if t.id == therapy_id), therapy_id)


# --------------------------------------------------------------------------------------------
# order-select / order-sign
# --------------------------------------------------------------------------------------------


def _pick_condition(order: DerivedOrder, results: dict[str, Result]) -> str | None:
    for cid in order.reason_condition_ids:
        if cid in results:
            return cid
    for cid, result in results.items():
        _, exclusion = _find(result, order.therapy_id)
        if exclusion is None or any(r.code != NOT_AN_EXCLUSION for r in exclusion):
            return cid
    return next(iter(results), None)


def _replacement(
    order: DerivedOrder,
    alternative: RankedOption,
    case: DerivedCase,
    codes: FhirCodeLists,
) -> Suggestion | None:
    """Replace the draft with an order for the alternative, when the catalog gives it a
    medication code (a procedure such as plasma exchange would need a ServiceRequest)."""
    codings = [
        c
        for c in codes.therapy_codings.get(alternative.therapy_id, ())
        if c.system in MEDICATION_SYSTEMS
    ]
    if not codings:
        return None
    first = codings[0]
    coding: dict[str, Any] = {"system": first.system, "code": first.code}
    if first.display:
        coding["display"] = first.display
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": order.intent or "order",
        "medicationCodeableConcept": {"coding": [coding], "text": alternative.name},
        "subject": {"reference": case.patient or "Patient/unknown"},
    }
    MedicationRequest.model_validate(resource)  # a resource the EHR can accept as R4
    create = Action(
        type="create", description=f"Draft an order for {alternative.name}", resource=resource
    )
    if order.resource_id is None:
        # A draft without an id cannot be named in a delete action: offer the new draft only,
        # and say so, rather than no suggestion at all.
        return Suggestion(
            label=_short(f"Draft {alternative.name} instead (remove the current draft)", 139),
            uuid=str(uuid.uuid4()),
            actions=[
                create.model_copy(
                    update={
                        "description": f"Draft an order for {alternative.name}; the current "
                        "draft has no id, so remove it yourself"
                    }
                )
            ],
        )
    return Suggestion(
        label=_short(f"Replace the draft order with {alternative.name}", 139),
        uuid=str(uuid.uuid4()),
        actions=[
            Action(
                type="delete",
                description=f"Remove the draft order {order.resource_id}",
                resourceId=order.resource_id,
            ),
            create,
        ],
    )


def order_cards(
    case: DerivedCase,
    ordered: Sequence[DerivedOrder],
    results: dict[str, Result],
    snapshot: CatalogSnapshot,
    codes: FhirCodeLists,
    settings: Settings,
    source: CardSource,
) -> CardsOut:
    cards = []
    seen: set[str] = set()
    for order in ordered:
        if order.therapy_id in seen:
            continue
        seen.add(order.therapy_id)
        condition_id = _pick_condition(order, results)
        if condition_id is None:
            continue
        result = results[condition_id]
        level, reasons, option = _assess(result, order.therapy_id)
        if level is None:
            continue
        therapy = _therapy_name(snapshot, order.therapy_id)
        name = _condition_name(snapshot, condition_id)
        alternatives = [o for o in result.ranked if o.therapy_id != order.therapy_id]
        if _later(result, order.therapy_id) is not None:
            summary = f"{therapy} usually comes later: {reasons[0].message}"
        elif level == "critical":
            summary = f"{therapy} is excluded for this patient: {reasons[0].message}"
        elif level == "warning" and option is None:
            summary = f"The TADA catalog has no evidence for {therapy} in {name}"
        elif level == "warning":
            summary = f"{therapy} has a caution for this patient: {reasons[0].message}"
        else:
            top = result.ranked[0]
            summary = (
                f"{top.name} ranks above {therapy} for this patient ({name}, default priorities)"
            )
        why = "".join(f"\n- {r.message}{_cite(r, snapshot)}" for r in reasons)
        heading = f"**The draft order for {therapy} ({name})**" + (f"\n{why}\n" if why else "")
        # The first alternative that the EHR can order as a medication (an option such as
        # steroids or plasma exchange may have no medication code): the detail lists them all.
        suggestion = next(
            (
                replacement
                for alternative in alternatives
                if option is None or alternative.rank < option.rank or level != "info"
                if (replacement := _replacement(order, alternative, case, codes)) is not None
            ),
            None,
        )
        cards.append(
            _card(
                summary=summary,
                detail=result_detail(result, case, snapshot, heading),
                indicator=level,
                source=source,
                topic=_topic(settings, f"order-check-{condition_id}", f"Order check: {name}"),
                links=_links(settings, condition_id, snapshot),
                settings=settings,
                suggestions=[suggestion] if suggestion else None,
            )
        )
    return CardsOut(cards=cards)
