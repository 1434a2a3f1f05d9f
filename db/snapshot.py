"""Reading the whole catalog into the engine's frozen snapshot (`scoring.model.CatalogSnapshot`).

This is the only place ORM rows become engine values. It runs once per catalog version (see
`api.catalog_cache`), never per scoring request.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session

from db import models, queries
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
    therapies = queries.list_therapy_records(session)
    conditions = queries.list_conditions(session)
    indications = queries.list_indications(session)
    sources = queries.list_sources(session)
    factors = queries.list_risk_factors(session)

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
        **{name: getattr(row, name) for name in _field_names(cast(Any, kind)) if name not in given},
        **given,
    )


@cache
def _field_names(kind: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def _source(row: models.Source) -> Source:
    return _value(Source, row)


def _therapy(row: models.Therapy) -> TherapyProfile:
    care_settings = frozenset(CareSetting(s) for s in row.care_settings)
    return _value(TherapyProfile, row, care_settings=care_settings)


def _indication(row: models.Indication) -> Indication:
    return _value(
        Indication,
        row,
        figures=tuple(_figure(f) for f in row.figures),
        place=place_from_json(row.place),
    )


def _figure(row: models.OutcomeFigure) -> OutcomeFigure:
    # The catalog file's names, which the engine keeps, where the table's differ.
    return _value(OutcomeFigure, row, id=row.key, measure=row.outcome, time_frame=row.time_horizon)


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
    when = (
        row.condition_expr
        if row.condition_expr is not None
        else {"attribute": row.attribute, "operator": row.operator, "value": row.value}
    )
    return _value(RiskRule, row, when=term_from_json(when))


def _adverse_effect(row: models.AdverseEffect) -> AdverseEffect:
    return _value(AdverseEffect, row)
