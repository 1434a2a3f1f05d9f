"""Catalog releases: every catalog version can be rebuilt exactly as it was.

Each catalog entity (a source, a condition, a therapy's core and each of its four lists -- adverse
effects, risk rules, costs, availability -- as a part of its own (0011), an indication with its
figures, and the three catalog-wide lists) is stored as
its catalog-file entry in canonical JSON, addressed by SHA-256 (`catalog_blobs`). A release is
a manifest of (entity -> digest); it is stored as *changes*: each version adds one
`release_entries` row per entity whose content changed (a NULL digest when it was removed). The
manifest of version N is every entity's latest entry at or before N.

So a curator write costs what it changes (a handful of rows), not a copy of a 10,000-therapy
catalog. Which entities a write touched is collected from the session's flushes (an ORM event),
and only those are re-read and re-hashed when the version is recorded. A whole-catalog load
re-hashes everything and diffs against the previous manifest.

An API write records only *which* entities it touched, on its version row, and its release is
recorded after the response (0015): by a background task, else by the next writer before it
changes anything, else by the first reader of that release. So a release is always read from
the rows as its own version left them.

A past release is rebuilt by loading its entries into an in-memory SQLite database through the
same `insert_catalog` and `load_snapshot` as the live catalog: one implementation of "catalog
rows -> engine snapshot", so a rebuilt snapshot cannot drift from the one scored at the time.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    create_engine,
    func,
    insert,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from db import catalog_io, models, queries
from db.catalog_file import CatalogFile, TherapyEntry
from scoring.model import CatalogSnapshot

EntityKey = tuple[str, str]
SINGLETON = "*"
THERAPY, INDICATION, CONDITION, SOURCE = "therapy", "indication", "condition", "source"
RISK_FACTORS, OBSERVATION_CODES, SCALES = "risk_factors", "observation_codes", "scales"
# A therapy's record is its core (its own fields, kind THERAPY) and one part per list it holds,
# each keyed by the therapy's id, its kind the record's field name (see 0011): a write to one
# availability row re-reads and re-hashes that therapy's availability, not its whole record.
THERAPY_PARTS: dict[str, tuple[type[models.Base], Callable[[Any], BaseModel]]] = {
    "adverse_effects": (models.AdverseEffect, catalog_io.adverse_effect_entry),
    "risk_rules": (models.RiskRule, catalog_io.risk_rule_entry),
    "costs": (models.Cost, catalog_io.cost_entry),
    "availability": (models.Availability, catalog_io.availability_entry),
}
_PART_OF_ROW: dict[type[models.Base], str] = {
    model: part for part, (model, _) in THERAPY_PARTS.items()
}
_TOUCHED = "tada_release_touched"
_ENTRY = models.ReleaseEntry
_ENTRY_TABLE: Table = models.ReleaseEntry.__table__  # type: ignore[assignment]
_RELEASE_TABLE: Table = models.CatalogRelease.__table__  # type: ignore[assignment]
_BLOB_TABLE: Table = models.CatalogBlob.__table__  # type: ignore[assignment]


class ReleaseNotRecorded(LookupError):
    """The version predates release recording (or does not exist): it cannot be rebuilt."""


# ---------------------------------------------------------------------------------------------
# Which entities a flush touched
# ---------------------------------------------------------------------------------------------


def indication_key(therapy_id: str, condition_id: str) -> str:
    return f"{therapy_id}/{condition_id}"


def therapy_keys(therapy_id: str) -> list[EntityKey]:
    """The entities of one therapy's record: its core and its parts."""
    return [(THERAPY, therapy_id), *((part, therapy_id) for part in THERAPY_PARTS)]


def _keys_of(session: Session, obj: object, *, new: bool, deleted: bool) -> Iterator[EntityKey]:
    if isinstance(obj, models.Therapy):
        if new or deleted:  # its lists come and go with it
            yield from therapy_keys(obj.id)
        else:
            yield THERAPY, obj.id
        if deleted:  # the database cascades to its indications
            for therapy_id, condition_id in session.execute(
                select(models.Indication.therapy_id, models.Indication.condition_id).where(
                    models.Indication.therapy_id == obj.id
                )
            ):
                yield INDICATION, indication_key(therapy_id, condition_id)
    elif isinstance(
        obj, models.AdverseEffect | models.RiskRule | models.Cost | models.Availability
    ):
        if obj.therapy_id is not None:  # else a new child of a therapy that is itself new
            yield _PART_OF_ROW[type(obj)], obj.therapy_id
    elif isinstance(obj, models.Indication):
        if obj.therapy_id is not None and obj.condition_id is not None:
            yield INDICATION, indication_key(obj.therapy_id, obj.condition_id)
    elif isinstance(obj, models.OutcomeFigure):
        if obj.indication_id is not None:
            parent = session.get(models.Indication, obj.indication_id)
            if parent is not None:
                yield INDICATION, indication_key(parent.therapy_id, parent.condition_id)
    elif isinstance(obj, models.Condition):
        yield CONDITION, obj.id
        if deleted:  # the database cascades to its indications and condition-specific rows
            yield from _condition_dependents(session, obj.id)
    elif isinstance(obj, models.ConditionCode):
        if obj.condition_id is not None:
            yield CONDITION, obj.condition_id
    elif isinstance(obj, models.Source):
        yield SOURCE, obj.id
    elif isinstance(obj, models.RiskFactor):
        yield RISK_FACTORS, SINGLETON
    elif isinstance(obj, models.ObservationCode):
        yield OBSERVATION_CODES, SINGLETON
    elif isinstance(obj, models.ValueScales):
        yield SCALES, SINGLETON


def _condition_dependents(session: Session, condition_id: str) -> Iterator[EntityKey]:
    for therapy_id, cond in session.execute(
        select(models.Indication.therapy_id, models.Indication.condition_id).where(
            models.Indication.condition_id == condition_id
        )
    ):
        yield INDICATION, indication_key(therapy_id, cond)
    for part, model in (("costs", models.Cost), ("risk_rules", models.RiskRule)):
        for therapy_id in session.scalars(
            select(model.therapy_id).where(model.condition_id == condition_id)
        ):
            yield part, therapy_id


def collect_touched(session: Session, _context: object, _instances: object) -> None:
    """`before_flush` listener: remember the catalog entities this flush will change."""
    touched: set[EntityKey] | None = session.info.get(_TOUCHED)
    # Each of `session.new`, `.dirty`, `.deleted` builds a new set: read once per flush, never
    # per object (a load of 10,000 therapies adds some 70,000 new objects).
    changed = [
        *((obj, True, False) for obj in session.new),
        *((obj, False, False) for obj in session.dirty),
        *((obj, False, True) for obj in session.deleted),
    ]
    for obj, new, deleted in changed:
        keys = set(_keys_of(session, obj, new=new, deleted=deleted))
        if keys and deferred_version(session) is not None:
            raise RuntimeError(
                "a catalog change after this transaction deferred its release "
                f"(version {deferred_version(session)}): one catalog change per deferred write"
            )
        if keys:
            if touched is None:
                touched = session.info.setdefault(_TOUCHED, set())
            touched |= keys


# ---------------------------------------------------------------------------------------------
# Entity content
# ---------------------------------------------------------------------------------------------


def canonical(body: Any) -> str:
    """Compact JSON in the entry's own order (the schema's field order; mappings as stored), so
    `tada catalog export --version N` writes the very bytes the export wrote at version N."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _dump(entry: Any) -> Any:
    return entry.model_dump(mode="json")


def split_catalog(catalog: CatalogFile) -> dict[EntityKey, Any]:
    """A whole catalog as entity key -> catalog-file entry (JSON values)."""
    entities: dict[EntityKey, Any] = {
        (RISK_FACTORS, SINGLETON): [_dump(f) for f in catalog.risk_factors],
        (OBSERVATION_CODES, SINGLETON): {
            name: _dump(entry) for name, entry in catalog.observation_codes.items()
        },
        (SCALES, SINGLETON): _dump(catalog.scales),
    }
    entities.update({(SOURCE, s.id): _dump(s) for s in catalog.sources})
    entities.update({(CONDITION, c.id): _dump(c) for c in catalog.conditions})
    for therapy in catalog.therapies:
        whole = _dump(therapy)
        entities[(THERAPY, therapy.id)] = {
            field: value for field, value in whole.items() if field not in THERAPY_PARTS
        }
        entities.update({(part, therapy.id): whole[part] for part in THERAPY_PARTS})
    for indication in catalog.indications:
        key = indication_key(indication.therapy, indication.condition)
        entities[(INDICATION, key)] = _dump(indication)
    return entities


def whole_therapy(therapy_id: str, core: Any, entities: dict[EntityKey, Any]) -> Any:
    """A therapy's record from its core and the parts among `entities`.

    A part overrides the list of the same name in the core: cores recorded before therapies
    were split (0011) hold their lists, and a list not recorded as a part since is the one in
    that core. A core recorded since holds no lists, and each of its parts is recorded with it.
    """
    parts = {
        part: entities[(part, therapy_id)]
        for part in THERAPY_PARTS
        if (part, therapy_id) in entities
    }
    return {**core, **parts}


def join_catalog(entities: dict[EntityKey, Any]) -> CatalogFile:
    """The inverse of `split_catalog` (lists in the export's order)."""

    def of(kind: str) -> list[Any]:
        keys = sorted((k for k in entities if k[0] == kind), key=lambda k: k[1].split("/"))
        return [entities[key] for key in keys]

    return CatalogFile.model_validate(
        {
            "sources": of(SOURCE),
            "risk_factors": entities.get((RISK_FACTORS, SINGLETON), []),
            "observation_codes": entities.get((OBSERVATION_CODES, SINGLETON), {}),
            "scales": entities[(SCALES, SINGLETON)],
            "conditions": of(CONDITION),
            "therapies": [whole_therapy(t["id"], t, entities) for t in of(THERAPY)],
            "indications": of(INDICATION),
        }
    )


def _indication_where(entity_id: str) -> Select[Any]:
    therapy_id, condition_id = entity_id.split("/", 1)
    return queries.indication_query().where(
        models.Indication.therapy_id == therapy_id,
        models.Indication.condition_id == condition_id,
    )


# A record entity: the query for it by its key, and its one mapping to the catalog file's record.
_RECORDS: dict[str, tuple[Callable[[str], Select[Any]], Callable[[Any], BaseModel]]] = {
    INDICATION: (_indication_where, catalog_io.indication_entry),
    CONDITION: (
        lambda entity_id: queries.condition_query().where(models.Condition.id == entity_id),
        catalog_io.condition_entry,
    ),
    SOURCE: (
        lambda entity_id: select(models.Source).where(models.Source.id == entity_id),
        catalog_io.source_entry,
    ),
}


def _current_entity(session: Session, key: EntityKey) -> Any | None:
    """One entity as it is now in this transaction (fresh from the database), or None if gone."""
    kind, entity_id = key
    fresh = {"populate_existing": True}
    if kind in _RECORDS:
        query, to_entry = _RECORDS[kind]
        row = session.scalars(query(entity_id).execution_options(**fresh)).first()
        return _dump(to_entry(row)) if row is not None else None
    if kind == THERAPY:
        return _current_therapy_core(session, entity_id)
    if kind in THERAPY_PARTS:
        return _current_part(session, kind, entity_id)
    if kind == RISK_FACTORS:
        factors = session.scalars(
            select(models.RiskFactor).order_by(models.RiskFactor.id).execution_options(**fresh)
        )
        return [_dump(catalog_io.risk_factor_entry(r)) for r in factors]
    if kind == OBSERVATION_CODES:
        observations = session.scalars(
            select(models.ObservationCode)
            .order_by(models.ObservationCode.attribute)
            .execution_options(**fresh)
        )
        return {r.attribute: _dump(catalog_io.observation_codes_entry(r)) for r in observations}
    if kind == SCALES:
        scales = session.get(models.ValueScales, 1, populate_existing=True)
        return _dump(catalog_io.scales_entry(scales)) if scales else None
    raise ValueError(f"unknown catalog entity kind {kind!r}")


# A therapy's core and parts are read as plain rows of their tables, not ORM objects: always
# what the database holds now (no identity map to refresh), and without building objects. The
# catalog_io mappings read a row's values by column name either way. The write of one
# availability status spent 0.2 of its 0.6 ms of release recording populating objects.
_THERAPIES: Table = models.Therapy.__table__  # type: ignore[assignment]


def _current_therapy_core(session: Session, therapy_id: str) -> Any | None:
    """A therapy's own fields (its core), or None if it is gone."""
    row = session.connection().execute(_THERAPY_CORE_QUERY, {"id": therapy_id}).first()
    if row is None:
        return None
    entry = TherapyEntry.model_validate(catalog_io.therapy_core_fields(row))  # type: ignore[arg-type]
    return entry.model_dump(mode="json", exclude=set(THERAPY_PARTS))


def _current_part(session: Session, part: str, therapy_id: str) -> list[Any] | None:
    """One list of a therapy's record, in the order its relationship keeps (the export's), or
    None if the therapy is gone."""
    _, to_entry = THERAPY_PARTS[part]
    connection = session.connection()
    rows = connection.execute(_PART_QUERIES[part], {"id": therapy_id}).all()
    if not rows and connection.execute(_THERAPY_ID_QUERY, {"id": therapy_id}).first() is None:
        return None
    return [_dump(to_entry(row)) for row in rows]


def _part_query(part: str) -> Select[Any]:
    """A part's rows by therapy, in the order the therapy's relationship keeps them."""
    table: Table = THERAPY_PARTS[part][0].__table__  # type: ignore[assignment]
    order = getattr(models.Therapy, part).property.order_by
    return select(table).where(table.c.therapy_id == bindparam("id")).order_by(*order)


# Built once: building a statement was about a third of running it.
_THERAPY_CORE_QUERY = select(_THERAPIES).where(_THERAPIES.c.id == bindparam("id"))
_THERAPY_ID_QUERY = select(_THERAPIES.c.id).where(_THERAPIES.c.id == bindparam("id"))
_PART_QUERIES = {part: _part_query(part) for part in THERAPY_PARTS}


# ---------------------------------------------------------------------------------------------
# Recording a release
# ---------------------------------------------------------------------------------------------


def record_release(
    session: Session, *, version: int, whole_catalog: bool, has_baseline: bool | None = None
) -> int:
    """Record the manifest of `version` (just flushed by the caller) as its changes.

    Returns the number of entities whose content changed. `whole_catalog` after a full load
    (its bulk deletes are invisible to the flush listener); with no baseline yet (`has_baseline`,
    asked when not given) the release is recorded whole, so a database migrated with a catalog
    already in it starts one. A release recorded whole adds a `catalog_releases` row: every
    version from the first such row on can be rebuilt, as every write records its release.

    A curator write's share is three statements (two on PostgreSQL): re-read the entities it
    touched, store content not stored yet, and add an entry for each entity whose latest entry
    has another digest -- the comparison is made by the insert itself, not by a look-up before
    it. The rows are written with plain inserts, not through the ORM's unit of work (see 0007).
    """
    session.flush()
    touched: set[EntityKey] = session.info.pop(_TOUCHED, set())
    if has_baseline is None:
        has_baseline = _has_baseline(session)
    if whole_catalog or not has_baseline:
        return _record_whole(session, version=version)
    return _record_touched(session, version=version, touched=touched)


def _record_touched(session: Session, *, version: int, touched: set[EntityKey]) -> int:
    """Record the entities a write touched, as they are now, as `version`'s changes."""
    cores = [entity_id for kind, entity_id in touched if kind == THERAPY]
    if cores:
        # A core recorded now holds no lists: a part with no entry yet (its list still only in
        # a core recorded before 0011) is recorded with it, or the list would be lost.
        parts_of_cores = {(part, t) for t in cores for part in THERAPY_PARTS}
        previous = _latest_digests(session, parts_of_cores)
        touched |= {key for key in parts_of_cores if previous.get(key) is None}
    rows: list[tuple[EntityKey, str | None]] = []
    blobs: dict[str, str] = {}
    for key in sorted(touched):
        body = _current_entity(session, key)
        if body is None:
            rows.append((key, None))
            continue
        text = canonical(body)
        digest = digest_of(text)
        blobs[digest] = text
        rows.append((key, digest))
    return _insert_changes(session, version=version, rows=rows, blobs=blobs)


# ---------------------------------------------------------------------------------------------
# Deferred releases (0015): an API write stores what it touched; its release comes after
# ---------------------------------------------------------------------------------------------

_DEFERRED = "tada_release_deferred"
_T = TypeVar("_T")


class ReleasePending(LookupError):
    """The version's release waits to be recorded (its write deferred it): `read_release`."""


def take_touched(session: Session) -> list[list[str]]:
    """The entities this transaction's flushes changed, for `catalog_versions.pending_release`
    (JSON: [kind, entity_id] pairs, sorted so the row's bytes do not depend on set order)."""
    session.flush()
    touched: set[EntityKey] = session.info.pop(_TOUCHED, set())
    return [[kind, entity_id] for kind, entity_id in sorted(touched)]


def mark_deferred(session: Session, version: int) -> None:
    """Note that this transaction left `version`'s release to be recorded after its commit:
    `deferred_version` tells the committer, and a catalog change flushed after it is refused
    (the release is read from the rows as the version left them)."""
    session.info[_DEFERRED] = (session.get_transaction(), version)


def deferred_version(session: Session) -> int | None:
    """The version whose release this session's current transaction deferred, if any."""
    marked = session.info.get(_DEFERRED)
    if marked is None or marked[0] is not session.get_transaction():
        return None
    return int(marked[1])


def record_pending(session: Session, *, version: int, keys: list[list[str]]) -> int:
    """Record the deferred release of `version`, the latest version, from the rows as they are
    (nothing has changed them since: every writer calls this before it changes anything)."""
    changed = _record_touched(
        session, version=version, touched={(kind, entity_id) for kind, entity_id in keys}
    )
    session.connection().execute(_CLEAR_PENDING, {"v": version})
    return changed


_CATALOG_VERSIONS: Table = models.CatalogVersion.__table__  # type: ignore[assignment]
_CLEAR_PENDING = (
    _CATALOG_VERSIONS.update()
    .where(_CATALOG_VERSIONS.c.version == bindparam("v"))
    .values(pending_release=None)
)


def settle_releases(factory: Callable[[], Session]) -> None:
    """Record a release still waiting, in a transaction of its own (a writer's: the lock and,
    on SQLite, the write lock); the work of a write's release, done after its response."""
    from db.versioning import begin_write  # db.versioning imports us when it records

    with factory() as session:
        begin_write(session)
        session.commit()


def read_release(factory: Callable[[], Session], read: Callable[[Session], _T]) -> _T:
    """`read(session)` on a fresh session; if the release it reads still waits to be recorded,
    record it and read again (on SQLite a transaction keeps the snapshot it started with)."""
    try:
        with factory() as session:
            return read(session)
    except ReleasePending:
        settle_releases(factory)
    with factory() as session:
        return read(session)


def _record_whole(session: Session, *, version: int) -> int:
    """Record `version` by re-hashing the whole catalog and diffing it against the previous
    manifest (or as the first baseline)."""
    current = split_catalog(catalog_io.export_catalog(session))
    # Diffed against what is recorded even with no baseline row: entries left without one (a
    # table edited by hand) would otherwise keep entities that are gone in the manifest.
    previous = _manifest_at(session, version - 1)
    blobs: dict[str, str] = {}
    entries: list[dict[str, Any]] = []
    for key in sorted(set(current) | set(previous)):
        body = current.get(key)
        text = canonical(body) if body is not None else None
        digest = digest_of(text) if text is not None else None
        if previous.get(key) == digest:
            continue
        if text is not None and digest is not None:
            blobs[digest] = text
        entries.append({"kind": key[0], "entity_id": key[1], "version": version, "digest": digest})
    _insert_new_blobs(session, blobs)
    connection = session.connection()
    if entries:
        connection.execute(_INSERT_ENTRIES, entries)
    connection.execute(
        _INSERT_RELEASE,
        {"version": version, "changed": len(entries), "recorded_at": datetime.now(UTC)},
    )
    return len(entries)


_INSERT_ENTRIES = insert(_ENTRY_TABLE)
_INSERT_RELEASE = insert(_RELEASE_TABLE)


def _has_baseline(session: Session) -> bool:
    return session.scalar(select(models.CatalogRelease.version).limit(1)) is not None


def _insert_changes(
    session: Session,
    *,
    version: int,
    rows: list[tuple[EntityKey, str | None]],
    blobs: dict[str, str],
) -> int:
    """Store the new content and an entry for each entity whose content changed.

    On PostgreSQL a write's usual handful of rows goes in one statement (the content stored
    by a data-modifying `WITH`), one round trip; SQLite, in process, takes two.
    """
    if not rows:
        return 0
    connection = session.connection()
    combine = connection.dialect.name == "postgresql" and len(rows) <= 200 and len(blobs) <= 200
    if not combine:
        _insert_new_blobs(session, blobs)
    changed = 0
    for chunk in _chunks(rows, 200):
        params: dict[str, Any] = {"version": version}
        for n, ((kind, entity_id), digest) in enumerate(chunk):
            params.update({f"k{n}": kind, f"e{n}": entity_id, f"d{n}": digest})
        if combine:
            for n, (digest, body) in enumerate(blobs.items()):
                params.update({f"bd{n}": digest, f"bb{n}": body})
            statement = _store_and_insert_changed_query(len(chunk), len(blobs))
        else:
            statement = _insert_changed_query(len(chunk))
        # psycopg reports no row count for INSERT ... SELECT unless asked to keep it.
        result = connection.execute(statement, params, execution_options=_KEEP_ROWCOUNT)
        changed += result.rowcount
    return changed


_KEEP_ROWCOUNT = {"preserve_rowcount": True}


@functools.lru_cache(maxsize=64)
def _store_and_insert_changed_query(count: int, blobs: int) -> Any:
    """PostgreSQL: `_insert_changed_query` with the content, bound as bd0, bb0, bd1..., stored
    by the same statement (a data-modifying `WITH`; the entries' foreign keys are checked at
    the statement's end, after it)."""
    statement = _insert_changed_query(count)
    if not blobs:
        return statement
    contents = [
        select(cast(bindparam(f"bd{n}"), String), cast(bindparam(f"bb{n}"), Text))
        for n in range(blobs)
    ]
    stored = (
        postgresql.insert(_BLOB_TABLE)
        .from_select(["digest", "body"], contents[0] if blobs == 1 else union_all(*contents))
        .on_conflict_do_nothing(index_elements=["digest"])
        .cte("stored")
    )
    return statement.add_cte(stored)


@functools.lru_cache(maxsize=64)
def _insert_changed_query(count: int) -> Any:
    """Insert the entries, bound as k0, e0, d0, k1..., whose entity's latest entry has another
    digest (a removal only of an entity that has one): built once per count.

    Each candidate's latest digest is found by a backward search of the primary key; "removed"
    and "absent" stand for a NULL digest and for no entry at all (no SHA-256 digest is either).
    """
    candidates = [
        select(
            cast(bindparam(f"k{n}"), String).label("kind"),
            cast(bindparam(f"e{n}"), String).label("entity_id"),
            cast(bindparam(f"d{n}"), String).label("digest"),
        )
        for n in range(count)
    ]
    new = (candidates[0] if count == 1 else union_all(*candidates)).subquery("new")
    latest = (
        select(func.coalesce(_ENTRY_TABLE.c.digest, "removed"))
        .where(_ENTRY_TABLE.c.kind == new.c.kind, _ENTRY_TABLE.c.entity_id == new.c.entity_id)
        .order_by(_ENTRY_TABLE.c.version.desc())
        .limit(1)
        .correlate(new)
        .scalar_subquery()
    )
    row = select(new, latest.label("latest")).subquery("compared").c
    version = cast(bindparam("version"), Integer)
    changed = select(row.kind, row.entity_id, version, row.digest).where(
        func.coalesce(row.latest, "absent") != func.coalesce(row.digest, "removed"),
        or_(row.digest.is_not(None), row.latest.is_not(None)),
    )
    return insert(_ENTRY_TABLE).from_select(["kind", "entity_id", "version", "digest"], changed)


def _insert_new_blobs(session: Session, blobs: dict[str, str]) -> None:
    """Store content not stored yet: one insert that skips digests already present (equal
    content is stored once), instead of a look-up per digest."""
    if not blobs:
        return
    connection = session.connection()
    statement = _STORE_BLOBS[connection.dialect.name]
    rows = [{"digest": digest, "body": body} for digest, body in blobs.items()]
    for chunk in _chunks(rows, 500):
        connection.execute(statement, chunk)


# Built once per dialect: building the statement was a third of storing one blob.
_STORE_BLOBS = {
    "postgresql": postgresql.insert(_BLOB_TABLE).on_conflict_do_nothing(index_elements=["digest"]),
    "sqlite": sqlite.insert(_BLOB_TABLE).on_conflict_do_nothing(index_elements=["digest"]),
}


def ensure_baseline(session: Session) -> None:
    """Record the current version as a whole release if no release was ever recorded."""
    if _has_baseline(session):
        return
    version = session.scalar(select(func.max(models.CatalogVersion.version)))
    if version is not None:
        record_release(session, version=version, whole_catalog=True)


def _latest_digests(session: Session, keys: set[EntityKey]) -> dict[EntityKey, str | None]:
    """Each entity's latest digest (absent if it never had an entry).

    One primary-key look-up per entity: `version` is the entity's own maximum, so the cost
    stays the same however many times the entity was written before.
    """
    found: dict[EntityKey, str | None] = {}
    connection = session.connection()
    for chunk in _chunks(sorted(keys), 200):
        params = {
            f"{name}{n}": value
            for n, key in enumerate(chunk)
            for name, value in zip("ke", key, strict=True)
        }
        rows = connection.execute(_latest_digests_query(len(chunk)), params)
        found.update({(kind, entity_id): digest for kind, entity_id, digest in rows})
    return found


@functools.lru_cache(maxsize=64)
def _latest_digests_query(count: int) -> Select[str, str, str | None]:
    """The look-up of `count` entities' latest entries, their keys bound as k0, e0, k1, e1...:
    built once per count (building it was a third of the look-up's cost)."""
    return select(_ENTRY.kind, _ENTRY.entity_id, _ENTRY.digest).where(
        or_(*(_latest_entry_of(bindparam(f"k{n}"), bindparam(f"e{n}")) for n in range(count)))
    )


def _latest_entry_of(kind: Any, entity_id: Any) -> ColumnElement[bool]:
    latest = (
        select(func.max(_ENTRY.version))
        .where(_ENTRY.kind == kind, _ENTRY.entity_id == entity_id)
        .scalar_subquery()
    )
    return and_(_ENTRY.kind == kind, _ENTRY.entity_id == entity_id, _ENTRY.version == latest)


def _keys_match(keys: list[EntityKey]) -> ColumnElement[bool]:
    """`(kind = ? AND entity_id = ?) OR ...`: both databases search the primary key for each
    (SQLite scans the whole table for a row-value `IN`, which grows with the catalog)."""
    return or_(*(and_(_ENTRY.kind == kind, _ENTRY.entity_id == entity) for kind, entity in keys))


def _manifest_at(session: Session, version: int) -> dict[EntityKey, str | None]:
    latest = (
        select(
            models.ReleaseEntry.kind,
            models.ReleaseEntry.entity_id,
            func.max(models.ReleaseEntry.version).label("version"),
        )
        .where(models.ReleaseEntry.version <= version)
        .group_by(models.ReleaseEntry.kind, models.ReleaseEntry.entity_id)
        .subquery()
    )
    rows = session.execute(
        select(
            models.ReleaseEntry.kind, models.ReleaseEntry.entity_id, models.ReleaseEntry.digest
        ).join(
            latest,
            and_(
                models.ReleaseEntry.kind == latest.c.kind,
                models.ReleaseEntry.entity_id == latest.c.entity_id,
                models.ReleaseEntry.version == latest.c.version,
            ),
        )
    )
    return {(kind, entity_id): digest for kind, entity_id, digest in rows}


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------------------------------
# Rebuilding a release
# ---------------------------------------------------------------------------------------------


_SPAN_QUERY = select(
    select(func.min(models.CatalogRelease.version)).scalar_subquery(),
    select(func.max(models.CatalogVersion.version)).scalar_subquery(),
    select(models.CatalogVersion.pending_release.is_not(None))
    .order_by(models.CatalogVersion.version.desc())
    .limit(1)
    .scalar_subquery(),
)


def release_versions(session: Session) -> tuple[int, int] | None:
    """The first and last catalog versions that can be rebuilt, or None.

    From the first release recorded whole (the baseline) on, every write records its release
    in its own transaction, or what it changed for its release to be recorded before anything
    changes again (0015), so every version since can be rebuilt.
    """
    low, high, _ = session.execute(_SPAN_QUERY).one()
    return (int(low), int(high)) if low is not None and high is not None else None


def _require_recorded(session: Session, version: int) -> None:
    low, high, pending = session.execute(_SPAN_QUERY).one()
    if low is None or high is None or not low <= version <= high:
        recorded = f"versions {low} to {high}" if low is not None else "no versions yet"
        raise ReleaseNotRecorded(
            f"catalog version {version} has no recorded release ({recorded} can be rebuilt)"
        )
    if pending and version == high:
        raise ReleasePending(f"catalog version {version}'s release is still to be recorded")


def catalog_at(session: Session, version: int) -> CatalogFile:
    """The catalog exactly as it was at `version`."""
    _require_recorded(session, version)
    manifest = {k: d for k, d in _manifest_at(session, version).items() if d is not None}
    bodies: dict[str, str] = {}
    for chunk in _chunks(sorted(set(manifest.values())), 500):
        for digest, body in session.execute(
            select(models.CatalogBlob.digest, models.CatalogBlob.body).where(
                models.CatalogBlob.digest.in_(chunk)
            )
        ):
            bodies[digest] = body
    return join_catalog({key: json.loads(bodies[digest]) for key, digest in manifest.items()})


def entities_at(session: Session, version: int, keys: set[EntityKey]) -> dict[EntityKey, Any]:
    """Some entities exactly as they were at `version` (absent ones are left out).

    For readers that need a few catalog records of the version a result names (the option
    grid's wording) without rebuilding the whole release.
    """
    _require_recorded(session, version)
    found: dict[EntityKey, Any] = {}
    for chunk in _chunks(sorted(_with_parts(keys)), 200):
        rows = session.execute(
            select(_ENTRY.kind, _ENTRY.entity_id, models.CatalogBlob.body)
            .join(models.CatalogBlob, models.CatalogBlob.digest == _ENTRY.digest, isouter=True)
            .where(_keys_match(chunk), _ENTRY.version <= version)
            .order_by(_ENTRY.version)
        )
        for kind, entity_id, body in rows:  # ascending versions: the last one wins
            if body is None:
                found.pop((kind, entity_id), None)
            else:
                found[(kind, entity_id)] = body
    return _whole_records(keys, {key: json.loads(body) for key, body in found.items()})


def entities_now(session: Session, keys: set[EntityKey]) -> dict[EntityKey, Any]:
    """Some entities as they are in the database now (absent ones left out)."""
    found = {key: _current_entity(session, key) for key in sorted(_with_parts(keys))}
    return _whole_records(keys, {key: body for key, body in found.items() if body is not None})


def _with_parts(keys: set[EntityKey]) -> set[EntityKey]:
    """The keys and, for each therapy among them, its parts."""
    return keys | {k for kind, t in keys if kind == THERAPY for k in therapy_keys(t)}


def _whole_records(keys: set[EntityKey], found: dict[EntityKey, Any]) -> dict[EntityKey, Any]:
    """The entities asked for, each therapy as its whole record (core and parts joined)."""
    return {
        key: whole_therapy(key[1], found[key], found) if key[0] == THERAPY else found[key]
        for key in keys
        if key in found
    }


def snapshot_of(catalog: CatalogFile, *, version: int) -> CatalogSnapshot:
    """The engine snapshot of a catalog file as catalog version `version`.

    Built through a private in-memory SQLite database with the live path's own loader and
    reader, so a rebuilt release is scored exactly as the live catalog was.
    """
    from db.snapshot import load_snapshot  # db.snapshot imports db.versioning, which imports us

    engine = create_engine("sqlite://", poolclass=StaticPool)
    try:
        models.Base.metadata.create_all(engine)
        with sessionmaker(engine)() as session:
            catalog_io.insert_catalog(session, catalog)
            session.add(
                models.CatalogVersion(
                    version=version, created_at=datetime.now(UTC), actor="release", summary=""
                )
            )
            session.flush()
            return load_snapshot(session)
    finally:
        engine.dispose()


def snapshot_at(session: Session, version: int) -> CatalogSnapshot:
    return snapshot_of(catalog_at(session, version), version=version)
