"""Turning a score request into engine values, and an engine result into the response.

Shared by `/v1/score`, `/v1/score/batch` and the FHIR and CDS Hooks entry points, so every
way in produces the same case for the same facts and every way out the same shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

import orjson

from api.errors import InvalidInput, NotFound
from api.schemas.score import ORDERING_BASIS, Coding, ScoreRequest, ScoreResponse
from api.schemas.score import PriorTreatment as PriorTreatmentIn
from scoring.errors import InvalidWeights
from scoring.model import (
    CatalogSnapshot,
    Citation,
    Condition,
    Criterion,
    OutcomeFigure,
    PatientCase,
    Preferences,
    PriorTreatment,
    RankedOption,
    Reason,
    Result,
    Weights,
)
from scoring.weights import DEFAULT_RATINGS

# A criterion's name by criterion, and back: `Criterion.value` is a Python-level enum property
# (0.25 µs a read) and `Criterion(name)` a Python-level lookup (0.5 µs); a score request read
# ~40 of them (bench/profile_score.py), plain dict look-ups instead.
_NAME: dict[Criterion, str] = {c: c.value for c in Criterion}
_CRITERION: dict[str, Criterion] = {c.value: c for c in Criterion}

CONDITION_HELP = (
    "GET /v1/conditions lists the condition ids and their ICD-10-CM and SNOMED CT codes; "
    "GET /v1/conditions?code=G61.81 finds a condition by code."
)


def resolve_condition(snapshot: CatalogSnapshot, ref: str | Coding) -> Condition:
    if isinstance(ref, str):
        for condition in snapshot.conditions:
            if condition.id == ref:
                return condition
        raise NotFound(f"Unknown condition '{ref}'. {CONDITION_HELP}")
    code = ref.code.strip().upper()
    for condition in snapshot.conditions:
        if (ref.system, code) in condition.codes:
            return condition
    raise NotFound(
        f"No condition in the catalog carries the code {ref.code} of {ref.system}. {CONDITION_HELP}"
    )


def case_from_request(
    request: ScoreRequest, snapshot: CatalogSnapshot
) -> tuple[PatientCase, Preferences, Weights]:
    condition = resolve_condition(snapshot, request.condition)
    patient = request.patient
    unknown = sorted(set(patient.risk_factors) - snapshot.risk_factors)
    if unknown:
        raise InvalidInput(
            f"Unknown risk factors {unknown}. The vocabulary is: "
            + ", ".join(sorted(snapshot.risk_factors))
            + " (GET /v1/risk-factors describes each).",
            errors=[
                {"path": "body/patient/risk_factors", "message": f"unknown: {f}", "type": "enum"}
                for f in unknown
            ],
            vocabulary=sorted(snapshot.risk_factors),
        )
    prior_treatments = _prior_treatments(patient.prior_treatments, snapshot)
    ratings = dict(DEFAULT_RATINGS)
    ratings.update({_CRITERION[name]: value for name, value in request.weights.items()})
    if not any(ratings.values()):
        raise InvalidInput(
            "All weights are zero: give at least one criterion an importance above 0.",
            errors=[{"path": "body/weights", "message": "all zero", "type": "value_error"}],
        )
    case = PatientCase(
        condition_id=condition.id,
        age_years=patient.age_years,
        weight_kg=patient.weight_kg,
        egfr=patient.egfr,
        pregnant=patient.pregnant,
        risk_factors=frozenset(patient.risk_factors),
        prior_supervised_infusions=patient.prior_supervised_infusions,
        platelet_count=patient.platelet_count,
        igg_trough=patient.igg_trough,
        travel_hours=patient.travel_hours,
        prior_treatments=prior_treatments,
        phase=patient.phase,
        antibody_status=patient.antibody_status,
    )
    preferences = Preferences(
        settings=frozenset(request.preferences.settings),
        region=request.preferences.region,
        max_annual_cost=request.preferences.max_annual_cost,
        urgent=request.preferences.urgent,
    )
    return case, preferences, Weights(ratings=ratings)


def _prior_treatments(
    given: list[PriorTreatmentIn] | None, snapshot: CatalogSnapshot
) -> tuple[PriorTreatment, ...] | None:
    """The stated history (None: unknown); a therapy id the catalog lacks is a 422 listing them."""
    if given is None:
        return None
    known = {t.id for t in snapshot.therapies}
    unknown = sorted({p.therapy_id for p in given} - known)
    if unknown:
        raise InvalidInput(
            f"Unknown therapy ids in prior_treatments: {unknown}. GET /v1/therapies lists the ids.",
            errors=[
                {
                    "path": f"body/patient/prior_treatments/{i}/therapy_id",
                    "message": f"unknown: {p.therapy_id}",
                    "type": "enum",
                }
                for i, p in enumerate(given)
                if p.therapy_id in unknown
            ],
            unknown_therapy_ids=unknown,
        )
    return tuple(PriorTreatment(p.therapy_id, p.outcome, p.ongoing) for p in given)


def _figure(figure: OutcomeFigure) -> dict[str, Any]:
    return {
        "id": figure.id,
        "measure": figure.measure,
        "population": figure.population,
        "events": figure.events,
        "per": figure.per,
        "comparator": (
            {"label": figure.comparator or "comparison group", "events": figure.comparator_events}
            if figure.comparator_events is not None
            else None
        ),
        "time_frame": figure.time_frame,
        "certainty": figure.certainty.value if figure.certainty else None,
        "source": figure.source_id,
        "higher_is_better": figure.higher_is_better,
    }


def _citation(citation: Citation) -> dict[str, Any]:
    """`source_id`, `citation`, `year`, `url`: the evidence item is the engine's value as is."""
    return {field.name: getattr(citation, field.name) for field in fields(citation)}


def _reason(reason: Reason, snapshot: CatalogSnapshot) -> dict[str, Any]:
    source = snapshot.sources.get(reason.source) if reason.source else None
    return {
        "code": reason.code,
        "message": reason.message,
        "source": reason.source,
        "citation": source.citation if source else None,
    }


T = TypeVar("T")


class AnswerParts:
    """The patient-independent parts of answers on one snapshot, shaped once and then shared.

    The engine prepares its cautions, evidence, reasons and outcome figures once per snapshot
    and hands the same tuples to every case they apply to; their JSON shape is therefore built
    once per tuple here, not once per request (bench/profile_score.py: shaping was a fifth of
    the endpoint's own time). Keyed by identity with the tuple held, so a key is never reused
    while cached; bounded, so tuples made per case (which then miss) cannot grow it.
    Kept in `snapshot.prepared`, so it lives and dies with its catalog version. The shared
    lists are never mutated: the answer is encoded, or validated into `ScoreResponse`.
    """

    LIMIT = 4096

    def __init__(self, snapshot: CatalogSnapshot) -> None:
        self.snapshot = snapshot
        self._shaped: dict[int, tuple[object, list[Any]]] = {}
        self._options: dict[tuple[int, int, int, int], tuple[object, ...]] = {}

    @classmethod
    def of(cls, snapshot: CatalogSnapshot) -> AnswerParts:
        parts = snapshot.prepared.get("api.answer_parts")
        if not isinstance(parts, AnswerParts):
            parts = cls(snapshot)
            snapshot.prepared["api.answer_parts"] = parts
        return parts

    def _shape(self, items: tuple[T, ...], shape: Callable[[T], Any]) -> list[Any]:
        hit = self._shaped.get(id(items))
        if hit is not None and hit[0] is items:
            return hit[1]
        shaped = [shape(item) for item in items]
        if len(self._shaped) < self.LIMIT:
            self._shaped[id(items)] = (items, shaped)
        return shaped

    def reasons(self, reasons: tuple[Reason, ...]) -> list[dict[str, Any]]:
        return self._shape(reasons, lambda r: _reason(r, self.snapshot))

    def evidence(self, evidence: tuple[Citation, ...]) -> list[dict[str, Any]]:
        return self._shape(evidence, _citation)

    def outcomes(self, outcomes: tuple[str, ...]) -> list[str]:
        return self._shape(outcomes, str)

    def figures(self, figures: tuple[OutcomeFigure, ...]) -> list[dict[str, Any]]:
        return self._shape(figures, _figure)

    def option(self, option: RankedOption) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
        """A ranked option's cautions, evidence, outcomes and outcome figures, shaped: one
        look-up for the four (by the four tuples' identities) instead of four (2 -> 1 µs an
        option); the same identity-and-bound rules as `_shape`."""
        cautions, evidence = option.cautions, option.evidence
        outcomes, figures = option.outcomes, option.outcome_figures
        key = (id(cautions), id(evidence), id(outcomes), id(figures))
        hit = self._options.get(key)
        if (
            hit is not None
            and hit[0] is cautions
            and hit[1] is evidence
            and hit[2] is outcomes
            and hit[3] is figures
        ):
            return hit[4]  # type: ignore[return-value]
        shaped = (
            self.reasons(cautions),
            self.evidence(evidence),
            self.outcomes(outcomes),
            self.figures(figures),
        )
        if len(self._options) < self.LIMIT:
            self._options[key] = (cautions, evidence, outcomes, figures, shaped)
        return shaped


def result_body(result: Result, snapshot: CatalogSnapshot) -> dict[str, Any]:
    """The `ScoreResponse` shape as plain JSON-ready values.

    The hot path serialises this dict directly: building and validating the pydantic response
    model cost more than the scoring itself. `tests/api` validate these bodies against
    `ScoreResponse`, so the documented schema and the bytes cannot drift apart.
    """
    parts = AnswerParts.of(snapshot)
    name = _NAME
    condition = next(c for c in snapshot.conditions if c.id == result.condition_id)
    return {
        "catalog_version": result.catalog_version,
        "method": result.method.value,
        "condition": {"id": condition.id, "name": condition.name},
        "ordering_basis": ORDERING_BASIS,
        "weights": {name[c]: w for c, w in result.weights.items()},
        "ranked": [_option(option, parts.option(option), name) for option in result.ranked],
        "excluded": [
            {"therapy_id": e.therapy_id, "name": e.name, "reasons": parts.reasons(e.reasons)}
            for e in result.excluded
        ],
        "stability": {
            "top_therapy_id": result.stability.top_therapy_id,
            "margin": result.stability.margin,
            "weight_ranges": [
                {
                    "criterion": name[r.criterion],
                    "weight": r.weight,
                    "lower": r.lower,
                    "upper": r.upper,
                }
                for r in result.stability.weight_ranges
            ],
        },
        "unknown": list(result.unknown),
        "later": [
            {"therapy_id": e.therapy_id, "name": e.name, "reasons": parts.reasons(e.reasons)}
            for e in result.later
        ],
        "not_indicated_count": result.not_indicated_count,
    }


def _option(
    option: RankedOption,
    shared: tuple[list[Any], list[Any], list[Any], list[Any]],
    name: dict[Criterion, str],
) -> dict[str, Any]:
    cautions, evidence, outcomes, figures = shared
    return {
        "therapy_id": option.therapy_id,
        "name": option.name,
        "rank": option.rank,
        "score": option.score,
        "criteria": {
            name[c]: {
                "value": s.value,
                "weight": s.weight,
                "contribution": s.contribution,
                "explanation": s.explanation,
            }
            for c, s in option.criteria.items()
        },
        "cautions": cautions,
        "evidence": evidence,
        "outcomes": outcomes,
        "outcome_figures": figures,
    }


def response_from_result(result: Result, snapshot: CatalogSnapshot) -> ScoreResponse:
    return ScoreResponse.model_validate(result_body(result, snapshot))


def encode(body: dict[str, Any]) -> bytes:
    """Compact, deterministic JSON (orjson keeps insertion order; the engine's floats are
    finite and rounded): the same result always gives the same bytes. The standard library's
    encoder took half of the scoring request's compute time (bench/)."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        # A lone surrogate echoed from the input (orjson refuses it): ASCII escapes instead.
        return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


def weights_error(exc: InvalidWeights) -> InvalidInput:
    return InvalidInput(
        str(exc), errors=[{"path": "body/weights", "message": str(exc), "type": "value_error"}]
    )


def check_chosen(chosen: str | None, result: dict[str, Any]) -> None:
    """An option said to be chosen (a decision record, a summary) must be one the result ranks."""
    ranked = [o["therapy_id"] for o in result["ranked"]]
    if chosen not in ranked:
        raise InvalidInput(
            f"chosen_therapy_id must be one of the options ranked for this request "
            f"({', '.join(ranked) or 'none'}); got {chosen!r}.",
            errors=[
                {"path": "body/chosen_therapy_id", "message": "not a ranked option", "type": "enum"}
            ],
            ranked=ranked,
        )
