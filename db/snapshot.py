"""Reading the whole catalog into the engine's frozen snapshot (`scoring.model.CatalogSnapshot`).

This is the only place ORM rows become engine values. It runs once per catalog version (see
`api.catalog_cache`), never per scoring request.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db import models
from db.versioning import current_version
from scoring.model import (
    AdverseEffect,
    AllOf,
    AnyOf,
    Availability,
    AvailabilityStatus,
    CareSetting,
    CatalogSnapshot,
    Certainty,
    Comparison,
    Condition,
    Cost,
    FactorMeaning,
    Indication,
    IndicationStatus,
    Operator,
    OutcomeFigure,
    PatientAttribute,
    Place,
    PriorOutcome,
    Requirement,
    RiskRule,
    Scales,
    Source,
    Term,
    TherapyProfile,
)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the catalog's rows and values are built.

    They are all long-lived, so the collector's passes over them while they are made find
    nothing and cost the most: at 10,000 therapies (about 150,000 rows) a load took 7.3 s with
    the collector and 2.8 s without (bench/scale.py). The previous state is restored after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_snapshot(session: Session) -> CatalogSnapshot:
    """Read the catalog in one consistent transaction, so the version names exactly these rows."""
    with _collector_paused():
        return _load_snapshot(session)


def _load_snapshot(session: Session) -> CatalogSnapshot:
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    version = current_version(session)
    scales_row = session.get(models.ValueScales, 1)
    if scales_row is None:
        raise LookupError("the catalog is empty: load a catalog file first")
    therapies = session.scalars(
        select(models.Therapy)
        .options(
            selectinload(models.Therapy.adverse_effects),
            selectinload(models.Therapy.risk_rules),
            selectinload(models.Therapy.costs),
            selectinload(models.Therapy.availability),
        )
        .order_by(models.Therapy.id)
    ).all()
    conditions = session.scalars(
        select(models.Condition)
        .options(selectinload(models.Condition.codes))
        .order_by(models.Condition.id)
    ).all()
    indications = session.scalars(
        select(models.Indication)
        .options(selectinload(models.Indication.figures))
        .order_by(models.Indication.therapy_id, models.Indication.condition_id)
    ).all()
    sources = session.scalars(select(models.Source).order_by(models.Source.id)).all()
    factors = session.scalars(select(models.RiskFactor).order_by(models.RiskFactor.id)).all()

    return CatalogSnapshot(
        version=version,
        therapies=tuple(_therapy(t) for t in therapies),
        conditions=tuple(
            Condition(id=c.id, name=c.name, codes=tuple((k.system, k.code) for k in c.codes))
            for c in conditions
        ),
        indications=tuple(_indication(i) for i in indications),
        costs=tuple(_cost(c) for t in therapies for c in t.costs),
        availability=tuple(_availability(a) for t in therapies for a in t.availability),
        risk_rules=tuple(_risk_rule(r) for t in therapies for r in t.risk_rules),
        adverse_effects=tuple(_adverse_effect(e) for t in therapies for e in t.adverse_effects),
        sources={s.id: _source(s) for s in sources},
        scales=scales_from_params(scales_row.params),
        risk_factors=frozenset(f.id for f in factors),
        factor_meanings={
            f.id: FactorMeaning(
                implies=tuple(f.implies or ()), may_be=tuple(f.may_be or ()), check=f.check_fact
            )
            for f in factors
            if f.implies or f.may_be
        },
    )


def scales_from_params(params: dict[str, object]) -> Scales:
    def number(key: str) -> float:
        value = params[key]
        assert isinstance(value, int | float), key
        return float(value)

    def mapping(key: str) -> dict[str, float]:
        value = params[key]
        assert isinstance(value, dict), key
        return {str(k): float(v) for k, v in value.items()}

    return Scales(
        status_value={IndicationStatus(k): v for k, v in mapping("status_value").items()},
        certainty_factor={Certainty(k): v for k, v in mapping("certainty_factor").items()},
        serious_per_100_worst=number("serious_per_100_worst"),
        common_per_100_worst=number("common_per_100_worst"),
        serious_share=number("serious_share"),
        hours_per_month_worst=number("hours_per_month_worst"),
        needles_per_month_worst=number("needles_per_month_worst"),
        needle_share=number("needle_share"),
        default_travel_hours=number("default_travel_hours"),
        annual_cost_ceiling=mapping("annual_cost_ceiling"),
        availability_value={
            AvailabilityStatus(k): v for k, v in mapping("availability_value").items()
        },
        lead_time_days_worst=number("lead_time_days_worst"),
        onset_days_worst=number("onset_days_worst"),
        urgent_onset_days=number("urgent_onset_days"),
        unknown_value=number("unknown_value"),
    )


Value = TypeVar("Value")


def _value(kind: type[Value], row: Any, **given: Any) -> Value:
    """An engine value whose every field, but those `given`, is a column of the row under the
    same name."""
    return kind(
        **{f.name: getattr(row, f.name) for f in fields(cast(Any, kind)) if f.name not in given},
        **given,
    )


def _source(row: models.Source) -> Source:
    return _value(Source, row)


def _therapy(row: models.Therapy) -> TherapyProfile:
    care_settings = frozenset(CareSetting(s) for s in row.care_settings)
    return _value(TherapyProfile, row, care_settings=care_settings)


def _indication(row: models.Indication) -> Indication:
    return Indication(
        therapy_id=row.therapy_id,
        condition_id=row.condition_id,
        status=row.status,
        certainty=row.certainty,
        source_id=row.source_id,
        evidence_grade=row.evidence_grade,
        population=row.population,
        onset_days=row.onset_days,
        sessions_per_month=row.sessions_per_month,
        hours_per_session=row.hours_per_session,
        courses_per_year=row.courses_per_year,
        dose_per_kg=row.dose_per_kg,
        figures=tuple(
            OutcomeFigure(
                id=f.key,
                measure=f.outcome,
                population=f.population,
                time_frame=f.time_horizon,
                events=f.events,
                per=f.per,
                source_id=f.source_id,
                comparator=f.comparator,
                comparator_events=f.comparator_events,
                higher_is_better=f.higher_is_better,
                certainty=f.certainty,
                uncertainty=f.uncertainty,
            )
            for f in row.figures
        ),
        note=row.note,
        place=place_from_json(row.place),
        message=row.message,
    )


def place_from_json(data: Any) -> Place:
    """An indication's place from its JSON column (`db.catalog_file.PlaceEntry` fields)."""
    if not data:
        return Place()
    return Place(
        requires=Requirement(data.get("requires", "none")),
        therapies=tuple(data.get("therapies", ())),
        phases=tuple(data.get("phases", ())),
        retreatment=tuple(PriorOutcome(o) for o in data.get("retreatment", ())),
        message=data.get("message"),
        source_id=data.get("source"),
    )


def term_from_json(data: Any) -> Term:
    """A rule condition from its JSON column (`db.catalog_file.TermEntry` fields)."""
    if "all" in data:
        return AllOf(tuple(term_from_json(inner) for inner in data["all"]))
    if "any" in data:
        return AnyOf(tuple(term_from_json(inner) for inner in data["any"]))
    value = data["value"]
    return Comparison(
        PatientAttribute(data["attribute"]),
        Operator(data["operator"]),
        tuple(value) if isinstance(value, list) else value,
    )


def _cost(row: models.Cost) -> Cost:
    return _value(Cost, row)


def _availability(row: models.Availability) -> Availability:
    return _value(Availability, row)


def _risk_rule(row: models.RiskRule) -> RiskRule:
    return RiskRule(
        id=row.id,
        therapy_id=row.therapy_id,
        code=row.code,
        when=term_from_json(
            row.condition_expr
            if row.condition_expr is not None
            else {"attribute": row.attribute, "operator": row.operator, "value": row.value}
        ),
        severity=row.severity,
        message=row.message,
        source_id=row.source_id,
        condition_id=row.condition_id,
        safety_penalty=row.safety_penalty,
        ask_if_unknown=row.ask_if_unknown,
    )


def _adverse_effect(row: models.AdverseEffect) -> AdverseEffect:
    return _value(AdverseEffect, row)
