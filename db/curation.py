"""Curator writes: create, update and delete catalog records, each audited and versioned.

Every function here works inside the caller's transaction and only flushes; the API's unit of
work commits once. Each change is validated as a whole record with the catalog file's schema
(so the API can never store what the seed file would refuse), its references are checked, the
record's revision must match the one the curator read (optimistic concurrency), and the audit
entry stores the record before and after.

One `Kind` per entity says what differs (its row, its record, the mapping between them in
`db.catalog_io`, the references it must check); `create`, `update` and `delete` are written
once for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

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
    Base,
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
from db.queries import get_condition, get_indication, get_therapy, indications_for_condition
from db.storable import storable_problems
from db.versioning import record_change

Row = TypeVar("Row", Source, Condition, Therapy, Indication, Cost, Availability, RiskRule)
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


class RecordInUse(CurationError):
    """The record is still cited by others; they must change before it can go."""


# ---------------------------------------------------------------------------------------------
# The three operations, written once
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind(Generic[Row, Entry]):
    """One catalog entity as curators change it.

    `to_row` / `to_entry` are the entity's one mapping (`db.catalog_io`); `check` refuses a
    record whose references or identity are wrong (`row` is None on create); `fixed` names the
    fields a change may not touch (the identity); `apply` writes the changed record, mapped to a
    fresh row, onto the stored row (by default every column but the keys); `cascaded` says what
    the database removes with a deleted row; `in_use` names the records that still cite a row,
    which refuse its delete.
    """

    name: str  # the audit log's entity name
    model: type[Row]
    entry: type[Entry]
    to_row: Callable[[Entry], Row]
    to_entry: Callable[[Row], Entry]
    check: Callable[[Session, Entry, Row | None], None]
    _: KW_ONLY
    load: Callable[[Session, Any], Row | None] | None = None  # default: by primary key
    fixed: Callable[[Row], dict[str, Any]] = lambda row: {}
    normalise: Callable[[dict[str, Any]], dict[str, Any]] = lambda changes: changes
    apply: Callable[[Session, Row, Row, Entry, dict[str, Any]], None] | None = None
    cascaded: Callable[[Session, Row], dict[str, Any]] | None = None
    in_use: Callable[[Session, Row], list[str]] | None = None
    child_of_therapy: bool = False

    def get(self, session: Session, record_id: Any) -> Row:
        row = self.load(session, record_id) if self.load else session.get(self.model, record_id)
        if row is None:
            shown = f"'{record_id}'" if isinstance(record_id, str) else str(record_id)
            raise RecordNotFound(f"no {self.name.replace('_', ' ')} {shown}")
        return row


def create(
    session: Session,
    kind: Kind[Row, Entry],
    *,
    actor: str,
    entry: Entry,
    therapy_id: str | None = None,
) -> Row:
    """Add a record (a therapy's cost, availability or rule names its therapy)."""
    if kind.child_of_therapy and session.get(Therapy, therapy_id) is None:
        raise RecordNotFound(f"no therapy '{therapy_id}'")
    kind.check(session, entry, None)
    if kind.child_of_therapy:
        _unique_child(session, kind, entry, therapy_id)
    row = kind.to_row(entry)
    if kind.child_of_therapy:
        assert isinstance(row, Cost | Availability | RiskRule)
        assert therapy_id is not None
        row.therapy_id = therapy_id
    session.add(row)
    _audit(session, actor=actor, kind=kind, row=row, action="create", before=None, after=entry)
    # Read back with what the API shows (its codes, figures, children...).
    return kind.get(session, row.id)


def update(
    session: Session,
    kind: Kind[Row, Entry],
    *,
    actor: str,
    record_id: Any,
    changes: dict[str, Any],
    expected_revision: int | None,
) -> Row:
    """Change some fields: the merged record is validated and checked as a whole."""
    row = _current(session, kind, record_id, expected_revision)
    before = kind.to_entry(row)
    merged = {**before.model_dump(mode="python"), **kind.normalise(changes), **kind.fixed(row)}
    after = _validate(kind.entry, merged)
    kind.check(session, after, row)
    (kind.apply or _copy_columns)(session, row, kind.to_row(after), after, changes)
    _audit(session, actor=actor, kind=kind, row=row, action="update", before=before, after=after)
    # Read back with what the API shows: recording the change may have expired its children.
    return kind.get(session, row.id)


def delete(
    session: Session,
    kind: Kind[Row, Entry],
    *,
    actor: str,
    record_id: Any,
    expected_revision: int | None,
) -> None:
    """Remove a record; the audit entry keeps it, and what the database cascades to with it,
    so the log alone can say what went and rebuild it. A record still cited stays."""
    row = _current(session, kind, record_id, expected_revision)
    citing = kind.in_use(session, row) if kind.in_use is not None else []
    if citing:
        shown = ", ".join(citing[:10]) + (
            f" and {len(citing) - 10} more" if len(citing) > 10 else ""
        )
        raise RecordInUse(
            f"the {kind.name.replace('_', ' ')} '{row.id}' is still cited by {shown}; "
            "make them cite another one first"
        )
    before = kind.to_entry(row)
    cascaded = kind.cascaded(session, row) if kind.cascaded is not None else None
    session.delete(row)
    _audit(
        session,
        actor=actor,
        kind=kind,
        row=row,
        action="delete",
        before=before,
        after=None,
        cascaded=cascaded,
    )


def _current(session: Session, kind: Kind[Row, Entry], record_id: Any, expected: int | None) -> Row:
    """The stored record, if it is still at the revision the curator read."""
    row = kind.get(session, record_id)
    if expected is not None and expected != row.revision:
        raise RevisionMismatch(row.revision)
    return row


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


def _audit(
    session: Session,
    *,
    actor: str,
    kind: Kind[Any, Any],
    row: Any,
    action: str,
    before: BaseModel | None,
    after: BaseModel | None,
    cascaded: dict[str, Any] | None = None,
) -> int:
    """Check the record is storable, write the change, then version and audit it; every write
    comes through here before it is committed, so this is the one storability check. It comes
    before the flush, so both databases refuse a value neither should hold (a NUL) alike, with
    its path. A delete's `before` keeps what the database cascaded to with the record."""
    problems = list(storable_problems(after.model_dump())) if after is not None else []
    if problems:
        raise InvalidRecord(
            "; ".join(f"{e['path'] or 'body'}: {e['message']}" for e in problems), problems
        )
    session.flush()
    recorded_before = before.model_dump(mode="json") if before is not None else None
    if recorded_before is not None and cascaded is not None:
        recorded_before["cascaded"] = cascaded
    return record_change(
        session,
        actor=actor,
        action=action,
        entity=kind.name,
        entity_id=str(row.id),
        before=recorded_before,
        after=after.model_dump(mode="json") if after is not None else None,
    )


def _copy_columns(session: Session, row: Any, fresh: Any, *_: Any) -> None:
    """Every column but the keys and the revision, from the record mapped to a fresh row."""
    for column in type(row).__table__.columns.keys():
        if column not in ("id", "revision", "therapy_id"):
            setattr(row, column, getattr(fresh, column))


def _touch(row: Condition | Therapy | Indication) -> None:
    """Mark a parent row dirty so its revision moves even when only child rows changed."""
    flag_modified(row, "name" if hasattr(row, "name") else "status")


# ---------------------------------------------------------------------------------------------
# Reference checks
# ---------------------------------------------------------------------------------------------


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


def _new_id(session: Session, model: type[Any], record_id: str, label: str) -> None:
    if session.get(model, record_id) is not None:
        raise RecordExists(f"{label} '{record_id}' already exists")


def _check_source(session: Session, entry: SourceEntry, row: Source | None) -> None:
    if row is None:
        _new_id(session, Source, entry.id, "source")


def _check_condition(session: Session, entry: ConditionEntry, row: Condition | None) -> None:
    if row is None:
        _new_id(session, Condition, entry.id, "condition")
    _require(session, Source, _sources_of(entry), "source")


def _check_therapy(session: Session, entry: TherapyEntry, row: Therapy | None) -> None:
    if row is None:
        _new_id(session, Therapy, entry.id, "therapy")
        taken = set(
            session.scalars(
                select(RiskRule.id).where(RiskRule.id.in_([r.id for r in entry.risk_rules]))
            )
        )
        if taken:
            raise RecordExists(f"risk rule ids already in use: {', '.join(sorted(taken))}")
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


def _check_indication(session: Session, entry: IndicationEntry, row: Indication | None) -> None:
    if row is None:
        exists = session.scalar(
            select(Indication.id).where(
                Indication.therapy_id == entry.therapy, Indication.condition_id == entry.condition
            )
        )
        if exists is not None:
            raise RecordExists(
                f"an indication for {entry.therapy} in {entry.condition} already exists "
                f"(id {exists}); update it instead"
            )
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
            OutcomeFigure.indication_id != (row.id if row is not None else -1),
        )
    ).all()
    if taken:
        raise RecordExists(f"outcome figure ids already in use: {', '.join(sorted(taken))}")


def _check_child(session: Session, entry: BaseModel, row: Any) -> None:
    _require(session, Source, _sources_of(entry), "source")
    _require(session, Condition, {getattr(entry, "condition", None)}, "condition")


def _check_risk_rule(session: Session, entry: RiskRuleEntry, row: RiskRule | None) -> None:
    if row is None:
        _new_id(session, RiskRule, entry.id, "risk rule")
    _require(session, RiskFactor, set(term_factors(entry.term())), "risk factor")
    _check_child(session, entry, row)


def _unique_child(session: Session, kind: Kind[Any, Any], entry: Any, therapy_id: Any) -> None:
    """A therapy has one availability record per region."""
    if kind.model is not Availability:
        return
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


# ---------------------------------------------------------------------------------------------
# What differs per entity when a record is written onto its row
# ---------------------------------------------------------------------------------------------


def _apply_condition(
    session: Session,
    row: Condition,
    fresh: Condition,
    after: ConditionEntry,
    changes: dict[str, Any],
) -> None:
    _copy_columns(session, row, fresh)
    _touch(row)
    if "codes" in changes:
        row.codes.clear()
        session.flush()  # the old codes go before the new ones (a code is unique)
        row.codes.extend(
            ConditionCode(system=c.system, code=c.code, display=c.display) for c in after.codes
        )


def _apply_therapy(session: Session, row: Therapy, fresh: Therapy, *_: Any) -> None:
    _copy_columns(session, row, fresh)  # its costs, rules... have their own endpoints
    _touch(row)


def _apply_indication(
    session: Session,
    row: Indication,
    fresh: Indication,
    after: IndicationEntry,
    changes: dict[str, Any],
) -> None:
    _copy_columns(session, row, fresh)
    if "figures" in changes:
        row.figures.clear()
        session.flush()
        row.figures.extend(catalog_io.figure_row(f, i) for i, f in enumerate(after.figures))
        _touch(row)


def _one_rule_form(changes: dict[str, Any]) -> dict[str, Any]:
    """A rule is one comparison or a `when` condition: a change to one form drops the other."""
    if changes.get("when") is not None:
        return {**changes, "attribute": None, "operator": None, "value": None}
    if any(changes.get(k) is not None for k in ("attribute", "operator", "value")):
        return {**changes, "when": None}
    return changes


def _condition_cascade(session: Session, row: Condition) -> dict[str, Any]:
    return {
        "indications": [
            catalog_io.indication_entry(i).model_dump(mode="json")
            for i in indications_for_condition(session, row.id)
        ],
        "costs": [
            {"therapy": c.therapy_id, **catalog_io.cost_entry(c).model_dump(mode="json")}
            for c in session.scalars(
                select(Cost).where(Cost.condition_id == row.id).order_by(Cost.id)
            )
        ],
        "risk_rules": [
            {"therapy": r.therapy_id, **catalog_io.risk_rule_fields(r)}
            for r in session.scalars(
                select(RiskRule).where(RiskRule.condition_id == row.id).order_by(RiskRule.id)
            )
        ],
    }


def _source_citations(session: Session, row: Source) -> list[str]:
    """Every record that cites the source: a column with a foreign key to it (which would
    refuse the delete anyway, unexplained), and the places and cited absences that name it in
    their JSON, which no foreign key guards."""
    cited: list[str] = []
    for table in Base.metadata.sorted_tables:
        citing = [
            column == row.id
            for column in table.columns
            if any(key.column is Source.__table__.c.id for key in column.foreign_keys)
        ]
        if citing:
            key = next(iter(table.primary_key.columns))
            found = session.scalars(select(key).where(or_(*citing)).order_by(key)).all()
            cited += [f"{table.name} {record_id}" for record_id in found]
    places = session.execute(
        select(Indication.id, Indication.place).where(Indication.place.is_not(None))
    )
    cited += [
        f"indications {i} (its place)" for i, place in places if place.get("source") == row.id
    ]
    courses = session.execute(
        select(Indication.id, Indication.course).where(Indication.course.is_not(None))
    )
    cited += [
        f"indications {i} (its course)"
        for i, course in courses
        if course is not None and course.get("source") == row.id
    ]
    absences = session.execute(select(Therapy.id, Therapy.absences).order_by(Therapy.id))
    cited += [
        f"therapies {t} (a cited absence)"
        for t, listed in absences
        if any(absence.get("source") == row.id for absence in listed or ())
    ]
    return cited


def _therapy_cascade(session: Session, row: Therapy) -> dict[str, Any]:
    # Its costs, availability and rules are part of the entry; its indications cascade too.
    return {
        "indications": [
            catalog_io.indication_entry(i).model_dump(mode="json")
            for i in sorted(row.indications, key=lambda i: i.condition_id)
        ]
    }


# ---------------------------------------------------------------------------------------------
# The entities
# ---------------------------------------------------------------------------------------------


def _same_id(row: Source | Condition | Therapy | RiskRule) -> dict[str, Any]:
    return {"id": row.id}


# name, row, record, record -> row, row -> record, checks; then what differs.
SOURCE = Kind(
    "source", Source, SourceEntry, catalog_io.source_row, catalog_io.source_entry,
    _check_source, fixed=_same_id, in_use=_source_citations,
)  # fmt: skip
CONDITION = Kind(
    "condition", Condition, ConditionEntry, catalog_io.condition_row, catalog_io.condition_entry,
    _check_condition, load=get_condition, fixed=_same_id, apply=_apply_condition,
    cascaded=_condition_cascade,
)  # fmt: skip
THERAPY = Kind(
    "therapy", Therapy, TherapyEntry, catalog_io.therapy_row, catalog_io.therapy_entry,
    _check_therapy, load=get_therapy, fixed=_same_id, apply=_apply_therapy,
    cascaded=_therapy_cascade,
)  # fmt: skip
INDICATION = Kind(
    "indication", Indication, IndicationEntry, catalog_io.indication_row,
    catalog_io.indication_entry, _check_indication, load=get_indication,
    apply=_apply_indication,
    fixed=lambda row: {"therapy": row.therapy_id, "condition": row.condition_id},
)  # fmt: skip
COST = Kind(
    "cost", Cost, CostEntry, catalog_io.cost_row, catalog_io.cost_entry, _check_child,
    child_of_therapy=True,
)  # fmt: skip
AVAILABILITY = Kind(
    "availability", Availability, AvailabilityEntry, catalog_io.availability_row,
    catalog_io.availability_entry, _check_child, fixed=lambda row: {"region": row.region},
    child_of_therapy=True,
)  # fmt: skip
RISK_RULE = Kind(
    "risk_rule", RiskRule, RiskRuleEntry, catalog_io.risk_rule_row, catalog_io.risk_rule_entry,
    _check_risk_rule, fixed=_same_id, normalise=_one_rule_form, child_of_therapy=True,
)  # fmt: skip
