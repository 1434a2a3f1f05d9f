"""Moving a whole catalog between the file format (`db.catalog_file`) and the database.

`replace_catalog` swaps the entire catalog in the caller's transaction: the old rows go, the
file's rows come in, one new catalog version and one audit entry record it. If anything fails,
the caller's rollback leaves the previous catalog untouched. `export_catalog` is its inverse,
so `load -> export` gives back an equivalent file (a test checks the round trip).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db import queries
from db.catalog_file import (
    Administration,
    AdverseEffectEntry,
    AvailabilityEntry,
    CatalogFile,
    ConditionEntry,
    CostEntry,
    FigureEntry,
    HomeRule,
    IndicationEntry,
    ObservationCodes,
    RiskFactorEntry,
    RiskRuleEntry,
    ScalesEntry,
    SourceEntry,
    TherapyEntry,
)
from db.models import (
    AdverseEffect,
    Availability,
    Condition,
    ConditionCode,
    Cost,
    Indication,
    ObservationCode,
    OutcomeFigure,
    RiskFactor,
    RiskRule,
    Source,
    Therapy,
    ValueScales,
)
from db.versioning import record_change

# Children before parents, so foreign keys never see a dangling row mid-delete.
_DELETE_ORDER: tuple[type[Any], ...] = (
    OutcomeFigure,
    Indication,
    AdverseEffect,
    RiskRule,
    Cost,
    Availability,
    Therapy,
    ConditionCode,
    Condition,
    RiskFactor,
    ObservationCode,
    ValueScales,
    Source,
)


def catalog_is_empty(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(Therapy)) or 0) == 0


def replace_catalog(session: Session, catalog: CatalogFile, *, actor: str, summary: str) -> int:
    """Replace every catalog row with the file's content; returns the new catalog version."""
    for model in _DELETE_ORDER:
        session.execute(delete(model))
    session.flush()
    counts = insert_catalog(session, catalog)
    return record_change(
        session,
        actor=actor,
        action="load",
        entity="catalog",
        entity_id="*",
        before=None,
        after=counts,
        summary=summary,
    )


def insert_catalog(session: Session, catalog: CatalogFile) -> dict[str, int]:
    """Add the file's rows to an empty catalog (no version, no audit: the caller records)."""
    session.add_all(source_row(s) for s in catalog.sources)
    session.add_all(
        RiskFactor(
            id=f.id,
            label=f.label,
            description=f.description,
            codes=[c.model_dump(exclude_none=True) for c in f.codes],
            implies=list(f.implies),
            may_be=list(f.may_be),
            check_fact=f.check,
        )
        for f in catalog.risk_factors
    )
    session.add_all(
        ObservationCode(
            attribute=attribute,
            unit=entry.unit,
            codes=[c.model_dump(exclude_none=True) for c in entry.codes],
        )
        for attribute, entry in catalog.observation_codes.items()
    )
    session.add(
        ValueScales(
            id=1,
            params=catalog.scales.model_dump(mode="json", exclude={"source"}),
            source_id=catalog.scales.source,
        )
    )
    session.flush()
    for condition in catalog.conditions:
        session.add(condition_row(condition))
    session.flush()
    for therapy in catalog.therapies:
        session.add(therapy_row(therapy))
    session.flush()
    for indication in catalog.indications:
        session.add(indication_row(indication))
    session.flush()
    return {
        "sources": len(catalog.sources),
        "conditions": len(catalog.conditions),
        "therapies": len(catalog.therapies),
        "indications": len(catalog.indications),
    }


def source_row(entry: SourceEntry) -> Source:
    return Source(**entry.model_dump())


def condition_row(entry: ConditionEntry) -> Condition:
    return Condition(
        **_columns(
            entry,
            source="source_id",
            given={"codes": [ConditionCode(**c.model_dump()) for c in entry.codes]},
        )
    )


def therapy_row(entry: TherapyEntry) -> Therapy:
    admin = entry.administration
    low, high = admin.hours_per_session_range or (None, None)
    home = entry.home_rule
    return Therapy(
        id=entry.id,
        name=entry.name,
        modality=entry.modality,
        route=entry.route,
        summary=entry.summary,
        source_id=entry.source,
        care_settings=[s.value for s in entry.care_settings],
        codes=[c.model_dump(exclude_none=True) for c in entry.codes],
        home_after_supervised=home.after_supervised_infusions if home else None,
        home_rule_text=home.text if home else None,
        home_rule_source_id=home.source if home else None,
        hours_per_session=admin.hours_per_session,
        hours_per_session_min=low,
        hours_per_session_max=high,
        sessions_per_month=admin.sessions_per_month,
        needles_per_session=admin.needles_per_session,
        administration_text=admin.text,
        administration_source_id=admin.source,
        onset_days=entry.onset_days,
        absences=[a.model_dump(mode="json", exclude_none=True) for a in entry.absences],
        adverse_effects=[
            adverse_effect_row(effect, position)
            for position, effect in enumerate(entry.adverse_effects)
        ],
        risk_rules=[risk_rule_row(rule) for rule in entry.risk_rules],
        costs=[cost_row(cost) for cost in entry.costs],
        availability=[availability_row(a) for a in entry.availability],
    )


def adverse_effect_row(entry: AdverseEffectEntry, position: int) -> AdverseEffect:
    return AdverseEffect(position=position, **_columns(entry, source="source_id"))


def risk_rule_row(entry: RiskRuleEntry) -> RiskRule:
    when = entry.when.model_dump(mode="json", exclude_none=True) if entry.when else None
    return RiskRule(
        **_columns(
            entry,
            condition="condition_id",
            source="source_id",
            when="condition_expr",
            given={"condition_expr": when},
        )
    )


def cost_row(entry: CostEntry) -> Cost:
    return Cost(**_columns(entry, condition="condition_id", source="source_id"))


def availability_row(entry: AvailabilityEntry) -> Availability:
    return Availability(**_columns(entry, source="source_id"))


_INDICATION_COLUMNS = {"therapy": "therapy_id", "condition": "condition_id", "source": "source_id"}


def indication_row(entry: IndicationEntry) -> Indication:
    place, course = entry.place, entry.course
    return Indication(
        **_columns(
            entry,
            **_INDICATION_COLUMNS,
            given={
                "place": (
                    place.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
                    if place is not None
                    else None
                ),
                "course": course.model_dump(mode="json") if course is not None else None,
                "figures": [figure_row(f, position) for position, f in enumerate(entry.figures)],
            },
        )
    )


def figure_row(entry: FigureEntry, position: int) -> OutcomeFigure:
    assert entry.id is not None, "validated by db.catalog_file.indication_problems"
    assert entry.time_frame is not None, "validated by db.catalog_file.indication_problems"
    return OutcomeFigure(
        position=position,
        key=entry.id,
        outcome=entry.measure,
        population=entry.population,
        time_horizon=entry.time_frame,
        events=entry.events,
        per=entry.per,
        comparator=entry.comparator.label if entry.comparator else None,
        comparator_events=entry.comparator.events if entry.comparator else None,
        higher_is_better=entry.higher_is_better,
        certainty=entry.certainty.value if entry.certainty else None,
        uncertainty=entry.uncertainty,
        curator_note=entry.curator_note,
        source_id=entry.source,
    )


def figure_entry(row: OutcomeFigure) -> dict[str, Any]:
    return {
        "id": row.key,
        "measure": row.outcome,
        "population": row.population,
        "time_frame": row.time_horizon,
        "events": row.events,
        "per": row.per,
        "denominator": "people",
        "comparator": (
            {"label": row.comparator or "comparison group", "events": row.comparator_events}
            if row.comparator_events is not None
            else None
        ),
        "higher_is_better": row.higher_is_better,
        "certainty": row.certainty,
        "uncertainty": row.uncertainty,
        "curator_note": row.curator_note,
        "source": row.source_id,
    }


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def export_catalog(session: Session) -> CatalogFile:
    observations = session.scalars(
        select(ObservationCode).order_by(ObservationCode.attribute)
    ).all()
    scales = session.get(ValueScales, 1)
    sources = queries.list_sources(session)
    factors = queries.list_risk_factors(session)
    conditions = queries.list_conditions(session)
    therapies = queries.list_therapy_records(session)
    indications = queries.list_indications(session)
    if scales is None:
        raise LookupError("the catalog has no value scales; load a catalog file first")
    return CatalogFile(
        sources=[source_entry(s) for s in sources],
        risk_factors=[risk_factor_entry(f) for f in factors],
        observation_codes={o.attribute: observation_codes_entry(o) for o in observations},
        scales=scales_entry(scales),
        conditions=[condition_entry(c) for c in conditions],
        therapies=[therapy_entry(t) for t in therapies],
        indications=[indication_entry(i) for i in indications],
    )


Record = TypeVar("Record", bound=BaseModel)


def _columns(
    record: BaseModel, *, given: dict[str, Any] | None = None, **columns: str
) -> dict[str, Any]:
    """A record's fields as column values; `columns` maps the fields a row stores under another
    name (e.g. `source="source_id"`), and `given` holds the columns mapped otherwise (by
    column name: child rows, JSON). The inverse of `_record`."""
    given = given or {}
    mapped = {columns.get(name, name): name for name in type(record).model_fields}
    return {
        column: given[column] if column in given else getattr(record, name)
        for column, name in mapped.items()
    }


def _record(
    record: type[Record], row: Any, *, given: dict[str, Any] | None = None, **columns: str
) -> Record:
    """The record of a row whose columns carry the record's field names, but for `columns`
    (field name -> column name, e.g. `source="source_id"`) and the fields `given` (by field
    name: child records)."""
    given = given or {}
    return record.model_validate(
        {
            name: given[name] if name in given else getattr(row, columns.get(name, name))
            for name in record.model_fields
        }
    )


def source_entry(row: Source) -> SourceEntry:
    return _record(SourceEntry, row)


def risk_factor_entry(row: RiskFactor) -> RiskFactorEntry:
    return _record(RiskFactorEntry, row, check="check_fact")


def observation_codes_entry(row: ObservationCode) -> ObservationCodes:
    return ObservationCodes(unit=row.unit, codes=row.codes)


def scales_entry(row: ValueScales) -> ScalesEntry:
    return ScalesEntry.model_validate({**row.params, "source": row.source_id})


def condition_entry(row: Condition) -> ConditionEntry:
    codes = [{"system": c.system, "code": c.code, "display": c.display} for c in row.codes]
    return _record(ConditionEntry, row, source="source_id", given={"codes": codes})


def therapy_entry(row: Therapy) -> TherapyEntry:
    """A therapy's whole record: its own fields and its four lists (rows loaded with it)."""
    return TherapyEntry.model_validate(
        {
            **therapy_core_fields(row),
            "adverse_effects": [adverse_effect_entry(e) for e in row.adverse_effects],
            "risk_rules": [risk_rule_fields(r) for r in row.risk_rules],
            "costs": [cost_entry(c) for c in row.costs],
            "availability": [availability_entry(a) for a in row.availability],
        }
    )


def therapy_core_fields(row: Therapy) -> dict[str, Any]:
    """A therapy's own fields as its record holds them: everything but its four lists (the
    rows of other tables), so the therapy row alone is enough."""
    hours_range = None
    if row.hours_per_session_min is not None and row.hours_per_session_max is not None:
        hours_range = (row.hours_per_session_min, row.hours_per_session_max)
    home = None
    if row.home_after_supervised is not None and row.home_rule_source_id is not None:
        home = HomeRule(
            after_supervised_infusions=row.home_after_supervised,
            text=row.home_rule_text or "",
            source=row.home_rule_source_id,
        )
    return {
        "id": row.id,
        "name": row.name,
        "modality": row.modality,
        "route": row.route,
        "summary": row.summary,
        "source": row.source_id,
        "care_settings": row.care_settings,
        "codes": row.codes,
        "home_rule": home,
        "administration": Administration(
            hours_per_session=row.hours_per_session,
            hours_per_session_range=hours_range,
            sessions_per_month=row.sessions_per_month,
            needles_per_session=row.needles_per_session,
            text=row.administration_text,
            source=row.administration_source_id,
        ),
        "onset_days": row.onset_days,
        "absences": row.absences or [],
    }


def adverse_effect_entry(row: AdverseEffect) -> AdverseEffectEntry:
    return _record(AdverseEffectEntry, row, source="source_id")


def cost_entry(row: Cost) -> CostEntry:
    return _record(CostEntry, row, condition="condition_id", source="source_id")


def availability_entry(row: Availability) -> AvailabilityEntry:
    return _record(AvailabilityEntry, row, source="source_id")


def risk_rule_entry(row: RiskRule) -> RiskRuleEntry:
    return RiskRuleEntry.model_validate(risk_rule_fields(row))


def risk_rule_fields(row: RiskRule) -> dict[str, Any]:
    """A rule's record as plain fields: one comparison or a `when` condition, not both."""
    entry: dict[str, Any] = {"id": row.id, "code": row.code}
    if row.condition_expr is not None:
        entry["when"] = row.condition_expr
    else:
        entry.update(attribute=row.attribute, operator=row.operator, value=row.value)
    entry.update(
        severity=row.severity,
        safety_penalty=row.safety_penalty,
        ask_if_unknown=row.ask_if_unknown,
        condition=row.condition_id,
        message=row.message,
        curator_note=row.curator_note,
        source=row.source_id,
    )
    return entry


def indication_entry(row: Indication) -> IndicationEntry:
    figures = [figure_entry(f) for f in row.figures]
    return _record(IndicationEntry, row, **_INDICATION_COLUMNS, given={"figures": figures})
