"""Finer release entities (0011): a therapy is recorded as its core and one part per list, and
releases recorded before, with whole therapies, still rebuild byte for byte."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from release_writes import availability_of, entries_at, set_status
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db import curation
from db.catalog_file import SEED_CATALOG, CatalogFile, dump_catalog, load_catalog_file
from db.catalog_io import export_catalog, replace_catalog
from db.models import (
    CatalogBlob,
    CatalogRelease,
    Cost,
    Indication,
    ReleaseEntry,
    RiskRule,
)
from db.releases import (
    THERAPY,
    THERAPY_PARTS,
    canonical,
    catalog_at,
    digest_of,
    entities_at,
    entities_now,
    split_catalog,
)
from db.versioning import current_version


def _blob(session: Session, digest: str | None) -> str:
    body = session.get(CatalogBlob, digest)
    assert body is not None
    return body.body


def _record_in_the_old_form(session: Session) -> int:
    """Record the current version's release as releases were recorded before 0011 (a whole
    therapy, lists included, in one blob), in place of the one recorded now."""
    version = current_version(session)
    session.execute(delete(ReleaseEntry))
    session.execute(delete(CatalogRelease))
    catalog = export_catalog(session)
    entities = {k: v for k, v in split_catalog(catalog).items() if k[0] not in THERAPY_PARTS}
    entities.update({(THERAPY, t.id): t.model_dump(mode="json") for t in catalog.therapies})
    for (kind, entity_id), body in entities.items():
        text = canonical(body)
        session.merge(CatalogBlob(digest=digest_of(text), body=text))
        session.add(
            ReleaseEntry(kind=kind, entity_id=entity_id, version=version, digest=digest_of(text))
        )
    session.add(
        CatalogRelease(version=version, changed=len(entities), recorded_at=datetime.now(UTC))
    )
    session.flush()
    assert all(k[0] not in THERAPY_PARTS for k in entries_at(session, version))
    return version


def _edit_therapy(session: Session, therapy_id: str, onset_days: float) -> None:
    curation.update(
        session,
        curation.THERAPY,
        actor="test",
        record_id=therapy_id,
        changes={"onset_days": onset_days},
        expected_revision=None,
    )


def _other_status(session: Session, therapy_id: str) -> str:
    current = availability_of(session, therapy_id, "US").status
    return "shortage" if current != "shortage" else "constrained"


def test_a_write_to_one_availability_row_records_only_that_therapys_availability(
    session: Session,
) -> None:
    whole = canonical(
        next(t for t in export_catalog(session).therapies if t.id == "ivig").model_dump(mode="json")
    )
    set_status(session, "ivig", _other_status(session, "ivig"))
    entries = entries_at(session, current_version(session))

    assert list(entries) == [("availability", "ivig")]
    body = _blob(session, entries[("availability", "ivig")])
    exported = next(t for t in export_catalog(session).therapies if t.id == "ivig")
    assert body == canonical([a.model_dump(mode="json") for a in exported.availability])
    # The availability list, not the therapy's whole record (760 of 17,831 bytes in the seed).
    assert len(body) * 10 < len(whole)


def test_every_therapy_read_part_by_part_is_the_exported_record_byte_for_byte(
    session: Session,
) -> None:
    """The plain-row reads a write records (each part alone, the core alone) give the bytes the
    whole-catalog export gives, for every therapy, rule form and cost of the seed."""
    catalog = export_catalog(session)
    split = split_catalog(catalog)
    parts = {key for key in split if key[0] in THERAPY_PARTS}
    assert {k: canonical(v) for k, v in entities_now(session, parts).items()} == {
        k: canonical(split[k]) for k in parts
    }
    whole = entities_now(session, {(THERAPY, t.id) for t in catalog.therapies})
    assert {k: canonical(v) for k, v in whole.items()} == {
        (THERAPY, t.id): canonical(t.model_dump(mode="json")) for t in catalog.therapies
    }


def test_a_release_recorded_with_whole_therapies_rebuilds_byte_for_byte(session: Session) -> None:
    version = _record_in_the_old_form(session)
    exported = dump_catalog(export_catalog(session))

    assert dump_catalog(catalog_at(session, version)) == exported
    ivig = next(t for t in export_catalog(session).therapies if t.id == "ivig")
    found = entities_at(session, version, {(THERAPY, "ivig")})
    assert found == {(THERAPY, "ivig"): ivig.model_dump(mode="json")}


def test_old_whole_therapies_and_new_parts_rebuild_together(session: Session) -> None:
    old_version = _record_in_the_old_form(session)
    old_export = dump_catalog(export_catalog(session))

    set_status(session, "ivig", _other_status(session, "ivig"))
    assert list(entries_at(session, current_version(session))) == [("availability", "ivig")]
    assert dump_catalog(catalog_at(session, current_version(session))) == dump_catalog(
        export_catalog(session)
    )

    # A core recorded now holds no lists: the parts still only in the old blob come with it.
    _edit_therapy(session, "scig", 30)
    assert set(entries_at(session, current_version(session))) == {
        (THERAPY, "scig"),
        *((part, "scig") for part in THERAPY_PARTS),
    }
    _edit_therapy(session, "ivig", 30)
    assert set(entries_at(session, current_version(session))) == {
        (THERAPY, "ivig"),
        *((part, "ivig") for part in THERAPY_PARTS if part != "availability"),
    }
    latest = current_version(session)
    assert dump_catalog(catalog_at(session, latest)) == dump_catalog(export_catalog(session))
    ivig = next(t for t in export_catalog(session).therapies if t.id == "ivig")
    assert entities_at(session, latest, {(THERAPY, "ivig")})[(THERAPY, "ivig")] == (
        ivig.model_dump(mode="json")
    )

    curation.delete(
        session, curation.THERAPY, actor="test", record_id="hsct", expected_revision=None
    )
    gone = current_version(session)
    assert entries_at(session, gone)[(THERAPY, "hsct")] is None
    assert "hsct" not in {t.id for t in catalog_at(session, gone).therapies}
    assert dump_catalog(catalog_at(session, gone)) == dump_catalog(export_catalog(session))
    assert dump_catalog(catalog_at(session, old_version)) == old_export


def _seed_changed(change: Callable[[dict[str, Any]], None]) -> CatalogFile:
    data = load_catalog_file(SEED_CATALOG).model_dump(mode="json", exclude={"code_lists"})
    change(data)
    return CatalogFile.model_validate(data)


def _without_romiplostim_and_one_effect_renamed(data: dict[str, Any]) -> None:
    data["therapies"] = [t for t in data["therapies"] if t["id"] != "romiplostim"]
    data["indications"] = [i for i in data["indications"] if i["therapy"] != "romiplostim"]
    scig = next(t for t in data["therapies"] if t["id"] == "scig")
    scig["adverse_effects"][0]["name"] = "renamed for the test"


def test_a_whole_load_over_old_whole_therapies_records_every_therapy_in_parts(
    session: Session,
) -> None:
    old_version = _record_in_the_old_form(session)
    old_export = dump_catalog(export_catalog(session))
    replace_catalog(
        session,
        _seed_changed(_without_romiplostim_and_one_effect_renamed),
        actor="test",
        summary="reload",
    )
    version = current_version(session)
    entries = entries_at(session, version)

    catalog = export_catalog(session)
    for therapy in catalog.therapies:
        for key in [(THERAPY, therapy.id), *((part, therapy.id) for part in THERAPY_PARTS)]:
            assert entries[key] is not None, key
        core = _blob(session, entries[(THERAPY, therapy.id)])
        assert not any(f'"{part}":' in core for part in THERAPY_PARTS)
    assert entries[(THERAPY, "romiplostim")] is None
    assert not any(
        key[1] == "romiplostim" for key in entries if key[0] in THERAPY_PARTS
    )  # it had no parts to remove: its lists went with its old blob
    assert dump_catalog(catalog_at(session, version)) == dump_catalog(catalog)
    assert dump_catalog(catalog_at(session, old_version)) == old_export


def test_a_whole_load_records_only_the_parts_that_changed(session: Session) -> None:
    def rename_one_effect(data: dict[str, Any]) -> None:
        scig = next(t for t in data["therapies"] if t["id"] == "scig")
        scig["adverse_effects"][0]["name"] = "renamed for the test"

    before = current_version(session)
    replace_catalog(session, _seed_changed(rename_one_effect), actor="test", summary="reload")
    version = current_version(session)

    assert list(entries_at(session, version)) == [("adverse_effects", "scig")]
    assert catalog_at(session, version) == export_catalog(session)
    assert catalog_at(session, before) != catalog_at(session, version)


# ---------------------------------------------------------------------------------------------
# Every kind of write, each version exported as it was
# ---------------------------------------------------------------------------------------------


def _new_therapy(session: Session) -> None:
    scig = next(t for t in export_catalog(session).therapies if t.id == "scig")
    entry = scig.model_copy(
        update={
            "id": "scig-copy",
            "risk_rules": [r.model_copy(update={"id": f"{r.id}-copy"}) for r in scig.risk_rules],
        }
    )
    curation.create(session, curation.THERAPY, actor="test", entry=entry)


def _new_availability(session: Session) -> None:
    us = availability_of(session, "scig", "US")
    entry = curation.AVAILABILITY.to_entry(us).model_copy(update={"region": "NZ"})
    curation.create(session, curation.AVAILABILITY, actor="test", entry=entry, therapy_id="scig")


def _cost_changed(session: Session) -> None:
    cost = session.scalars(select(Cost).where(Cost.therapy_id == "ivig").order_by(Cost.id)).first()
    assert cost is not None
    curation.update(
        session,
        curation.COST,
        actor="test",
        record_id=cost.id,
        changes={"amount": cost.amount + 1},
        expected_revision=None,
    )


def _first_rule(session: Session, therapy_id: str) -> RiskRule:
    rule = session.scalars(
        select(RiskRule).where(RiskRule.therapy_id == therapy_id).order_by(RiskRule.id)
    ).first()
    assert rule is not None
    return rule


def _figure_changed(session: Session) -> None:
    indication = session.scalars(
        select(Indication).where(Indication.therapy_id == "ivig", Indication.condition_id == "cidp")
    ).one()
    entry = next(
        i
        for i in export_catalog(session).indications
        if i.therapy == "ivig" and i.condition == "cidp"
    )
    figures = [f.model_dump(mode="json") for f in entry.figures]
    figures[0]["events"] -= 1
    curation.update(
        session,
        curation.INDICATION,
        actor="test",
        record_id=indication.id,
        changes={"figures": figures},
        expected_revision=None,
    )


WRITES: list[tuple[str, Callable[[Session], object]]] = [
    ("therapy core", lambda s: _edit_therapy(s, "ivig", 21)),
    ("availability", lambda s: set_status(s, "ivig", _other_status(s, "ivig"))),
    ("availability created", _new_availability),
    ("cost", _cost_changed),
    (
        "risk rule",
        lambda s: curation.update(
            s,
            curation.RISK_RULE,
            actor="test",
            record_id=_first_rule(s, "ivig").id,
            changes={"message": "Changed for the test."},
            expected_revision=None,
        ),
    ),
    (
        "risk rule deleted",
        lambda s: curation.delete(
            s,
            curation.RISK_RULE,
            actor="test",
            record_id=_first_rule(s, "scig").id,
            expected_revision=None,
        ),
    ),
    ("therapy created (adverse effects and every list)", _new_therapy),
    ("indication", _figure_changed),
    (
        "condition",
        lambda s: curation.update(
            s,
            curation.CONDITION,
            actor="test",
            record_id="mmn",
            changes={"name": "Multifocal motor neuropathy (edited)"},
            expected_revision=None,
        ),
    ),
    (
        "source",
        lambda s: curation.update(
            s,
            curation.SOURCE,
            actor="test",
            record_id="article-ivig-2024",
            changes={"note": "checked again"},
            expected_revision=None,
        ),
    ),
    (
        "therapy deleted",
        lambda s: curation.delete(
            s, curation.THERAPY, actor="test", record_id="scig-copy", expected_revision=None
        ),
    ),
    (
        "condition deleted (its costs and rules cascade)",
        lambda s: curation.delete(
            s, curation.CONDITION, actor="test", record_id="cidp", expected_revision=None
        ),
    ),
]


@pytest.mark.parametrize("old_form", [False, True], ids=["parts", "whole-therapy-start"])
def test_every_version_of_a_run_of_writes_exports_the_bytes_it_had(
    session: Session, old_form: bool
) -> None:
    first = _record_in_the_old_form(session) if old_form else current_version(session)
    exported = {first: dump_catalog(export_catalog(session))}
    for name, write in WRITES:
        write(session)
        version = current_version(session)
        assert version not in exported, name
        exported[version] = dump_catalog(export_catalog(session))
        assert exported[version] != exported[version - 1], name

    for version, text in exported.items():
        assert dump_catalog(catalog_at(session, version)) == text, version
