"""Curator writes: create, update and delete catalog records, each audited and versioned.

Every function here works inside the caller's transaction and only flushes; the API's unit of
work commits once. Each change is validated as a whole record with the catalog file's schema
(so the API can never store what the seed file would refuse), its references are checked, the
record's revision must match the one the curator read (optimistic concurrency), and the audit
entry stores the record before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import catalog_io
from db.catalog_file import (
    AvailabilityEntry,
    ConditionEntry,
    CostEntry,
    IndicationEntry,
    RiskRuleEntry,
    SourceEntry,
    TherapyEntry,
    indication_problems,
    term_factors,
)
from db.models import (
    Availability,
    Condition,
    ConditionCode,
    Cost,
    Indication,
    OutcomeFigure,
    RiskFactor,
    RiskRule,
    Source,
    Therapy,
)
from db.queries import (
    get_condition,
    get_indication,
    get_therapy,
    indications_for_condition,
)
from db.versioning import record_change

Entry = TypeVar("Entry", bound=BaseModel)


class CurationError(Exception):
    """Base of the errors a curator write can raise; the API maps each to a status."""


class RecordNotFound(CurationError):
    """The record to change does not exist."""


class RevisionMismatch(CurationError):
    def __init__(self, current: int) -> None:
        super().__init__(f"the record is at revision {current}")
        self.current = current


class InvalidRecord(CurationError):
    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class RecordExists(CurationError):
    """A record with the same identity already exists; the curator should update it."""


def _validate(model: type[Entry], data: dict[str, Any]) -> Entry:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"path": "/".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise InvalidRecord(
            "; ".join(f"{e['path'] or 'body'}: {e['message']}" for e in errors), errors
        ) from exc


def _check_revision(row_revision: int, expected: int | None) -> None:
    if expected is not None and expected != row_revision:
        raise RevisionMismatch(row_revision)


def _require(session: Session, model: type[Any], ids: set[str | None], what: str) -> None:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return
    found = set(session.scalars(select(model.id).where(model.id.in_(wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise InvalidRecord(f"unknown {what}: {', '.join(missing)}")


def _sources_of(entry: BaseModel) -> set[str | None]:
    """Every `source` value anywhere in an entry (nested lists included)."""
    found: set[str | None] = set()

    def walk(value: Any) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                item = getattr(value, name)
                if name == "source" and isinstance(item, str):
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(entry)
    return found


def _audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: BaseModel | None,
    after: BaseModel | None,
) -> int:
    return record_change(
        session,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before.model_dump(mode="json") if before is not None else None,
        after=after.model_dump(mode="json") if after is not None else None,
    )


def _merge(current: BaseModel, changes: dict[str, Any]) -> dict[str, Any]:
    return {**current.model_dump(mode="python"), **changes}


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


def _source_entry(row: Source) -> SourceEntry:
    return _validate(
        SourceEntry,
        {
            "id": row.id,
            "citation": row.citation,
            "year": row.year,
            "kind": row.kind,
            "identifier": row.identifier,
            "url": row.url,
            "verified": row.verified,
            "note": row.note,
        },
    )


def create_source(session: Session, *, actor: str, entry: SourceEntry) -> Source:
    if session.get(Source, entry.id) is not None:
        raise RecordExists(f"source '{entry.id}' already exists")
    row = Source(**entry.model_dump())
    session.add(row)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="create",
        entity="source",
        entity_id=entry.id,
        before=None,
        after=entry,
    )
    return row


def update_source(
    session: Session,
    *,
    actor: str,
    source_id: str,
    changes: dict[str, Any],
    expected_revision: int | None,
) -> Source:
    row = session.get(Source, source_id)
    if row is None:
        raise RecordNotFound(f"no source '{source_id}'")
    _check_revision(row.revision, expected_revision)
    before = _source_entry(row)
    after = _validate(SourceEntry, _merge(before, {**changes, "id": source_id}))
    for name, value in after.model_dump().items():
        setattr(row, name, value)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="update",
        entity="source",
        entity_id=source_id,
        before=before,
        after=after,
    )
    return row


# ---------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------


def create_condition(session: Session, *, actor: str, entry: ConditionEntry) -> Condition:
    if session.get(Condition, entry.id) is not None:
        raise RecordExists(f"condition '{entry.id}' already exists")
    _require(session, Source, _sources_of(entry), "source")
    session.add(catalog_io.condition_row(entry))
    session.flush()
    _audit(
        session,
        actor=actor,
        action="create",
        entity="condition",
        entity_id=entry.id,
        before=None,
        after=entry,
    )
    row = get_condition(session, entry.id)
    assert row is not None
    return row


def update_condition(
    session: Session,
    *,
    actor: str,
    condition_id: str,
    changes: dict[str, Any],
    expected_revision: int | None,
) -> Condition:
    row = get_condition(session, condition_id)
    if row is None:
        raise RecordNotFound(f"no condition '{condition_id}'")
    _check_revision(row.revision, expected_revision)
    before = catalog_io.condition_entry(row)
    after = _validate(ConditionEntry, _merge(before, {**changes, "id": condition_id}))
    _require(session, Source, _sources_of(after), "source")
    row.name, row.summary, row.source_id = after.name, after.summary, after.source
    if "codes" in changes:
        row.codes.clear()
        session.flush()
        row.codes.extend(
            ConditionCode(system=c.system, code=c.code, display=c.display) for c in after.codes
        )
        session.flush()
    _touch(row)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="update",
        entity="condition",
        entity_id=condition_id,
        before=before,
        after=after,
    )
    return row


def delete_condition(
    session: Session, *, actor: str, condition_id: str, expected_revision: int | None
) -> None:
    row = get_condition(session, condition_id)
    if row is None:
        raise RecordNotFound(f"no condition '{condition_id}'")
    _check_revision(row.revision, expected_revision)
    before = catalog_io.condition_entry(row).model_dump(mode="json")
    # The database cascades to these rows: the audit entry keeps them, so the log alone can
    # say what went and rebuild it.
    before["cascaded"] = {
        "indications": [
            catalog_io.indication_entry(i).model_dump(mode="json")
            for i in indications_for_condition(session, condition_id)
        ],
        "costs": [
            {"therapy": c.therapy_id, **_cost_dict(c)}
            for c in session.scalars(
                select(Cost).where(Cost.condition_id == condition_id).order_by(Cost.id)
            )
        ],
        "risk_rules": [
            {"therapy": r.therapy_id, **catalog_io.risk_rule_entry(r)}
            for r in session.scalars(
                select(RiskRule).where(RiskRule.condition_id == condition_id).order_by(RiskRule.id)
            )
        ],
    }
    session.delete(row)
    session.flush()
    record_change(
        session,
        actor=actor,
        action="delete",
        entity="condition",
        entity_id=condition_id,
        before=before,
        after=None,
    )


def _touch(row: Condition | Therapy | Indication) -> None:
    """Mark a parent row dirty so its revision moves even when only child rows changed."""
    from sqlalchemy.orm.attributes import flag_modified

    flag_modified(row, "name" if hasattr(row, "name") else "status")


# ---------------------------------------------------------------------------------------------
# Therapies
# ---------------------------------------------------------------------------------------------


def _check_therapy_refs(session: Session, entry: TherapyEntry) -> None:
    _require(session, Source, _sources_of(entry), "source")
    _require(
        session,
        Condition,
        {r.condition for r in entry.risk_rules} | {c.condition for c in entry.costs},
        "condition",
    )
    _require(
        session,
        RiskFactor,
        {f for r in entry.risk_rules for f in term_factors(r.term())},
        "risk factor",
    )


def create_therapy(session: Session, *, actor: str, entry: TherapyEntry) -> Therapy:
    if session.get(Therapy, entry.id) is not None:
        raise RecordExists(f"therapy '{entry.id}' already exists")
    taken = set(
        session.scalars(
            select(RiskRule.id).where(RiskRule.id.in_([r.id for r in entry.risk_rules]))
        )
    )
    if taken:
        raise RecordExists(f"risk rule ids already in use: {', '.join(sorted(taken))}")
    _check_therapy_refs(session, entry)
    session.add(catalog_io.therapy_row(entry))
    session.flush()
    _audit(
        session,
        actor=actor,
        action="create",
        entity="therapy",
        entity_id=entry.id,
        before=None,
        after=entry,
    )
    row = get_therapy(session, entry.id)
    assert row is not None
    return row


def update_therapy(
    session: Session,
    *,
    actor: str,
    therapy_id: str,
    changes: dict[str, Any],
    expected_revision: int | None,
) -> Therapy:
    row = get_therapy(session, therapy_id)
    if row is None:
        raise RecordNotFound(f"no therapy '{therapy_id}'")
    _check_revision(row.revision, expected_revision)
    before = catalog_io.therapy_entry(row)
    after = _validate(TherapyEntry, _merge(before, {**changes, "id": therapy_id}))
    _check_therapy_refs(session, after)
    fresh = catalog_io.therapy_row(after)
    for column in Therapy.__table__.columns.keys():
        if column not in ("id", "revision"):
            setattr(row, column, getattr(fresh, column))
    _touch(row)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="update",
        entity="therapy",
        entity_id=therapy_id,
        before=before,
        after=after,
    )
    return row


def delete_therapy(
    session: Session, *, actor: str, therapy_id: str, expected_revision: int | None
) -> None:
    row = get_therapy(session, therapy_id)
    if row is None:
        raise RecordNotFound(f"no therapy '{therapy_id}'")
    _check_revision(row.revision, expected_revision)
    before = catalog_io.therapy_entry(row).model_dump(mode="json")
    # Its costs, availability and rules are part of the entry; its indications cascade too.
    before["cascaded"] = {
        "indications": [
            catalog_io.indication_entry(i).model_dump(mode="json")
            for i in sorted(row.indications, key=lambda i: i.condition_id)
        ]
    }
    session.delete(row)
    session.flush()
    record_change(
        session,
        actor=actor,
        action="delete",
        entity="therapy",
        entity_id=therapy_id,
        before=before,
        after=None,
    )


# ---------------------------------------------------------------------------------------------
# Indications
# ---------------------------------------------------------------------------------------------


def _check_indication_refs(
    session: Session, entry: IndicationEntry, indication_id: int | None = None
) -> None:
    problems = indication_problems(entry)
    if problems:
        raise InvalidRecord("; ".join(problems))
    _require(session, Source, _sources_of(entry), "source")
    therapies: set[str | None] = {entry.therapy}
    if entry.place is not None:
        therapies.update(entry.place.therapies)
    _require(session, Therapy, therapies, "therapy")
    _require(session, Condition, {entry.condition}, "condition")
    keys = [f.id for f in entry.figures if f.id is not None]
    if len(keys) != len(set(keys)):
        raise InvalidRecord("duplicate outcome figure ids in the indication")
    taken = session.scalars(
        select(OutcomeFigure.key).where(
            OutcomeFigure.key.in_(keys),
            OutcomeFigure.indication_id != (indication_id if indication_id is not None else -1),
        )
    ).all()
    if taken:
        raise RecordExists(f"outcome figure ids already in use: {', '.join(sorted(taken))}")


def create_indication(session: Session, *, actor: str, entry: IndicationEntry) -> Indication:
    exists = session.scalar(
        select(Indication.id).where(
            Indication.therapy_id == entry.therapy, Indication.condition_id == entry.condition
        )
    )
    if exists is not None:
        raise RecordExists(
            f"an indication for {entry.therapy} in {entry.condition} already exists (id {exists}); "
            "update it instead"
        )
    _check_indication_refs(session, entry)
    row = catalog_io.indication_row(entry)
    session.add(row)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="create",
        entity="indication",
        entity_id=str(row.id),
        before=None,
        after=entry,
    )
    loaded = get_indication(session, row.id)
    assert loaded is not None
    return loaded


def update_indication(
    session: Session,
    *,
    actor: str,
    indication_id: int,
    changes: dict[str, Any],
    expected_revision: int | None,
) -> Indication:
    row = get_indication(session, indication_id)
    if row is None:
        raise RecordNotFound(f"no indication {indication_id}")
    _check_revision(row.revision, expected_revision)
    before = catalog_io.indication_entry(row)
    after = _validate(
        IndicationEntry,
        _merge(before, {**changes, "therapy": row.therapy_id, "condition": row.condition_id}),
    )
    _check_indication_refs(session, after, indication_id)
    fresh = catalog_io.indication_row(after)
    for column in Indication.__table__.columns.keys():
        if column not in ("id", "revision"):
            setattr(row, column, getattr(fresh, column))
    if "figures" in changes:
        row.figures.clear()
        session.flush()
        row.figures.extend(catalog_io.figure_row(f, i) for i, f in enumerate(after.figures))
        _touch(row)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="update",
        entity="indication",
        entity_id=str(indication_id),
        before=before,
        after=after,
    )
    return row


def delete_indication(
    session: Session, *, actor: str, indication_id: int, expected_revision: int | None
) -> None:
    row = get_indication(session, indication_id)
    if row is None:
        raise RecordNotFound(f"no indication {indication_id}")
    _check_revision(row.revision, expected_revision)
    before = catalog_io.indication_entry(row)
    session.delete(row)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="delete",
        entity="indication",
        entity_id=str(indication_id),
        before=before,
        after=None,
    )


# ---------------------------------------------------------------------------------------------
# Therapy children: costs, availability, risk rules
# ---------------------------------------------------------------------------------------------


def _child_create(
    session: Session,
    *,
    actor: str,
    therapy_id: str,
    entity: str,
    entry: BaseModel,
    make_row: Callable[[], Cost | Availability | RiskRule],
) -> Cost | Availability | RiskRule:
    if session.get(Therapy, therapy_id) is None:
        raise RecordNotFound(f"no therapy '{therapy_id}'")
    _require(session, Source, _sources_of(entry), "source")
    _require(session, Condition, {getattr(entry, "condition", None)}, "condition")
    row = make_row()
    row.therapy_id = therapy_id
    session.add(row)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="create",
        entity=entity,
        entity_id=str(row.id),
        before=None,
        after=entry,
    )
    return row


def _child_update(
    session: Session,
    *,
    actor: str,
    entity: str,
    row: Cost | Availability | RiskRule | None,
    label: str,
    model: type[Entry],
    current: dict[str, Any],
    changes: dict[str, Any],
    expected_revision: int | None,
    make_row: Callable[[Entry], Cost | Availability | RiskRule],
) -> Cost | Availability | RiskRule:
    if row is None:
        raise RecordNotFound(f"no {label}")
    _check_revision(row.revision, expected_revision)
    before = _validate(model, current)
    after = _validate(model, {**current, **changes})
    _require(session, Source, _sources_of(after), "source")
    _require(session, Condition, {getattr(after, "condition", None)}, "condition")
    fresh = make_row(after)
    for column in type(row).__table__.columns.keys():
        if column not in ("id", "revision", "therapy_id"):
            setattr(row, column, getattr(fresh, column))
    session.flush()
    _audit(
        session,
        actor=actor,
        action="update",
        entity=entity,
        entity_id=str(row.id),
        before=before,
        after=after,
    )
    return row


def _child_delete(
    session: Session,
    *,
    actor: str,
    entity: str,
    row: Cost | Availability | RiskRule | None,
    label: str,
    current: BaseModel | None,
    expected_revision: int | None,
) -> None:
    if row is None or current is None:
        raise RecordNotFound(f"no {label}")
    _check_revision(row.revision, expected_revision)
    session.delete(row)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="delete",
        entity=entity,
        entity_id=str(row.id),
        before=current,
        after=None,
    )


def _cost_dict(row: Cost) -> dict[str, Any]:
    return {
        "amount": row.amount,
        "currency": row.currency,
        "basis": row.basis,
        "region": row.region,
        "year": row.year,
        "condition": row.condition_id,
        "note": row.note,
        "source": row.source_id,
    }


def _availability_dict(row: Availability) -> dict[str, Any]:
    return {
        "region": row.region,
        "status": row.status,
        "lead_time_days": row.lead_time_days,
        "as_of": row.as_of,
        "note": row.note,
        "source": row.source_id,
    }


def create_cost(session: Session, *, actor: str, therapy_id: str, entry: CostEntry) -> Cost:
    row = _child_create(
        session,
        actor=actor,
        therapy_id=therapy_id,
        entity="cost",
        entry=entry,
        make_row=lambda: catalog_io.cost_row(entry),
    )
    assert isinstance(row, Cost)
    return row


def update_cost(
    session: Session,
    *,
    actor: str,
    cost_id: int,
    changes: dict[str, Any],
    expected_revision: int | None,
) -> Cost:
    row = session.get(Cost, cost_id)
    updated = _child_update(
        session,
        actor=actor,
        entity="cost",
        row=row,
        label=f"cost {cost_id}",
        model=CostEntry,
        current=_cost_dict(row) if row else {},
        changes=changes,
        expected_revision=expected_revision,
        make_row=catalog_io.cost_row,
    )
    assert isinstance(updated, Cost)
    return updated


def delete_cost(
    session: Session, *, actor: str, cost_id: int, expected_revision: int | None
) -> None:
    row = session.get(Cost, cost_id)
    current = CostEntry.model_validate(_cost_dict(row)) if row else None
    _child_delete(
        session,
        actor=actor,
        entity="cost",
        row=row,
        label=f"cost {cost_id}",
        current=current,
        expected_revision=expected_revision,
    )


def create_availability(
    session: Session, *, actor: str, therapy_id: str, entry: AvailabilityEntry
) -> Availability:
    taken = session.scalar(
        select(Availability.id).where(
            Availability.therapy_id == therapy_id, Availability.region == entry.region
        )
    )
    if taken is not None:
        raise RecordExists(
            f"{therapy_id} already has availability for {entry.region} (id {taken}); "
            "update it instead"
        )
    row = _child_create(
        session,
        actor=actor,
        therapy_id=therapy_id,
        entity="availability",
        entry=entry,
        make_row=lambda: catalog_io.availability_row(entry),
    )
    assert isinstance(row, Availability)
    return row


def update_availability(
    session: Session,
    *,
    actor: str,
    availability_id: int,
    changes: dict[str, Any],
    expected_revision: int | None,
) -> Availability:
    row = session.get(Availability, availability_id)
    updated = _child_update(
        session,
        actor=actor,
        entity="availability",
        row=row,
        label=f"availability {availability_id}",
        model=AvailabilityEntry,
        current=_availability_dict(row) if row else {},
        changes={**changes, **({"region": row.region} if row else {})},
        expected_revision=expected_revision,
        make_row=catalog_io.availability_row,
    )
    assert isinstance(updated, Availability)
    return updated


def delete_availability(
    session: Session, *, actor: str, availability_id: int, expected_revision: int | None
) -> None:
    row = session.get(Availability, availability_id)
    current = AvailabilityEntry.model_validate(_availability_dict(row)) if row else None
    _child_delete(
        session,
        actor=actor,
        entity="availability",
        row=row,
        label=f"availability {availability_id}",
        current=current,
        expected_revision=expected_revision,
    )


def create_risk_rule(
    session: Session, *, actor: str, therapy_id: str, entry: RiskRuleEntry
) -> RiskRule:
    if session.get(RiskRule, entry.id) is not None:
        raise RecordExists(f"risk rule '{entry.id}' already exists")
    _require(session, RiskFactor, set(term_factors(entry.term())), "risk factor")
    row = _child_create(
        session,
        actor=actor,
        therapy_id=therapy_id,
        entity="risk_rule",
        entry=entry,
        make_row=lambda: catalog_io.risk_rule_row(entry),
    )
    assert isinstance(row, RiskRule)
    return row


def update_risk_rule(
    session: Session,
    *,
    actor: str,
    rule_id: str,
    changes: dict[str, Any],
    expected_revision: int | None,
) -> RiskRule:
    row = session.get(RiskRule, rule_id)
    current = catalog_io.risk_rule_entry(row) if row else {}
    # A rule is one comparison or a `when` condition: a change to one form drops the other.
    if changes.get("when") is not None:
        changes = {**changes, "attribute": None, "operator": None, "value": None}
    elif any(changes.get(k) is not None for k in ("attribute", "operator", "value")):
        changes = {**changes, "when": None}
    merged = {**current, **changes, "id": rule_id}
    if row is not None:
        try:
            factors = term_factors(RiskRuleEntry.model_validate(merged).term())
        except ValueError:
            factors = []  # the update below reports the invalid rule
        _require(session, RiskFactor, set(factors), "risk factor")
    updated = _child_update(
        session,
        actor=actor,
        entity="risk_rule",
        row=row,
        label=f"risk rule '{rule_id}'",
        model=RiskRuleEntry,
        current=current,
        changes={**changes, "id": rule_id},
        expected_revision=expected_revision,
        make_row=catalog_io.risk_rule_row,
    )
    assert isinstance(updated, RiskRule)
    return updated


def delete_risk_rule(
    session: Session, *, actor: str, rule_id: str, expected_revision: int | None
) -> None:
    row = session.get(RiskRule, rule_id)
    current = RiskRuleEntry.model_validate(catalog_io.risk_rule_entry(row)) if row else None
    _child_delete(
        session,
        actor=actor,
        entity="risk_rule",
        row=row,
        label=f"risk rule '{rule_id}'",
        current=current,
        expected_revision=expected_revision,
    )
