"""The curation service (`db.curation`) without HTTP: each refusal, and what each write leaves."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import curation
from db.catalog_file import (
    AvailabilityEntry,
    ConditionEntry,
    CostEntry,
    IndicationEntry,
    RiskRuleEntry,
    SourceEntry,
)
from db.models import AuditEntry, Availability, Cost, Indication, RiskRule, Source
from db.versioning import current_version

SOURCE = "article-ivig-2024"


def _last_audit(session: Session) -> AuditEntry:
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    return entry


def _cost(**fields: Any) -> CostEntry:
    return CostEntry.model_validate(
        {
            "amount": 10,
            "currency": "USD",
            "basis": "per_year",
            "region": "US",
            "year": 2025,
            "source": SOURCE,
            **fields,
        }
    )


def test_a_record_that_does_not_exist_is_named_in_the_error(session: Session) -> None:
    with pytest.raises(curation.RecordNotFound, match="no therapy 'nope'"):
        curation.update(
            session,
            curation.THERAPY,
            actor="t",
            record_id="nope",
            changes={"onset_days": 1},
            expected_revision=None,
        )
    with pytest.raises(curation.RecordNotFound, match="no cost 999999"):
        curation.delete(session, curation.COST, actor="t", record_id=999999, expected_revision=None)


def test_a_child_needs_its_therapy(session: Session) -> None:
    with pytest.raises(curation.RecordNotFound, match="no therapy 'nope'"):
        curation.create(session, curation.COST, actor="t", entry=_cost(), therapy_id="nope")


def test_a_stale_revision_names_the_current_one(session: Session) -> None:
    row = session.scalars(select(Cost).limit(1)).one()
    with pytest.raises(curation.RevisionMismatch) as raised:
        curation.update(
            session,
            curation.COST,
            actor="t",
            record_id=row.id,
            changes={"amount": 1},
            expected_revision=row.revision + 5,
        )
    assert raised.value.current == row.revision


def test_an_existing_identity_is_a_conflict(session: Session) -> None:
    entry = SourceEntry(id=SOURCE, citation="again")
    with pytest.raises(curation.RecordExists, match="already exists"):
        curation.create(session, curation.SOURCE, actor="t", entry=entry)
    taken = session.scalars(select(Availability).limit(1)).one()
    again = AvailabilityEntry(region=taken.region, status="available", source=SOURCE)
    with pytest.raises(curation.RecordExists, match="update it instead"):
        curation.create(
            session, curation.AVAILABILITY, actor="t", entry=again, therapy_id=taken.therapy_id
        )
    rule = session.scalars(select(RiskRule).limit(1)).one()
    duplicate = RiskRuleEntry.model_validate(
        {**curation.RISK_RULE.to_entry(rule).model_dump(), "code": "other"}
    )
    with pytest.raises(curation.RecordExists, match="already exists"):
        curation.create(
            session, curation.RISK_RULE, actor="t", entry=duplicate, therapy_id=rule.therapy_id
        )


def test_unknown_references_are_invalid(session: Session) -> None:
    condition = ConditionEntry(id="new-condition", name="New", source="no-such-source")
    with pytest.raises(curation.InvalidRecord, match="unknown source: no-such-source"):
        curation.create(session, curation.CONDITION, actor="t", entry=condition)
    cost = _cost(condition="no-such-condition")
    with pytest.raises(curation.InvalidRecord, match="unknown condition: no-such-condition"):
        curation.create(session, curation.COST, actor="t", entry=cost, therapy_id="ivig")
    indication = IndicationEntry.model_validate(
        {
            "therapy": "no-such-therapy",
            "condition": "pi",
            "status": "first_line",
            "certainty": "low",
            "place": {"requires": "none"},
            "source": SOURCE,
        }
    )
    with pytest.raises(curation.InvalidRecord, match="unknown therapy: no-such-therapy"):
        curation.create(session, curation.INDICATION, actor="t", entry=indication)


def test_an_invalid_merged_record_keeps_the_field_path(session: Session) -> None:
    row = session.scalars(select(Cost).limit(1)).one()
    with pytest.raises(curation.InvalidRecord) as raised:
        curation.update(
            session,
            curation.COST,
            actor="t",
            record_id=row.id,
            changes={"amount": -1},
            expected_revision=None,
        )
    assert raised.value.errors[0]["path"] == "amount"


def test_a_change_cannot_move_a_record_to_another_identity(session: Session) -> None:
    row = session.scalars(select(Availability).limit(1)).one()
    region = row.region
    updated = curation.update(
        session,
        curation.AVAILABILITY,
        actor="t",
        record_id=row.id,
        changes={"region": "ZZ", "status": "shortage"},
        expected_revision=None,
    )
    assert updated.region == region
    assert updated.status == "shortage"


def test_a_rule_changed_to_a_condition_drops_its_comparison(session: Session) -> None:
    rule = session.scalars(select(RiskRule).where(RiskRule.condition_expr.is_(None))).first()
    assert rule is not None
    when = {
        "all": [
            {"attribute": "age_years", "operator": "ge", "value": 18},
            {"attribute": "egfr", "operator": "lt", "value": 30},
        ]
    }
    updated = curation.update(
        session,
        curation.RISK_RULE,
        actor="t",
        record_id=rule.id,
        changes={"when": when},
        expected_revision=None,
    )
    assert updated.condition_expr == when
    assert (updated.attribute, updated.operator, updated.value) == (None, None, None)


def test_each_write_is_one_catalog_version_and_one_audit_entry(session: Session) -> None:
    version = current_version(session)
    created = curation.create(
        session, curation.COST, actor="t", entry=_cost(region="FR"), therapy_id="ivig"
    )
    assert current_version(session) == version + 1
    audit = _last_audit(session)
    assert (audit.action, audit.entity, audit.entity_id) == ("create", "cost", str(created.id))
    assert audit.after is not None
    assert audit.after["region"] == "FR"


def test_deleting_a_condition_keeps_what_cascaded_in_the_audit(session: Session) -> None:
    indications = session.scalars(select(Indication).where(Indication.condition_id == "mmn")).all()
    curation.delete(session, curation.CONDITION, actor="t", record_id="mmn", expected_revision=None)
    audit = _last_audit(session)
    assert audit.after is None
    assert audit.before is not None
    assert audit.before["id"] == "mmn"
    cascaded = audit.before["cascaded"]
    assert len(cascaded["indications"]) == len(indications) > 0
    assert session.scalars(select(Indication).where(Indication.condition_id == "mmn")).all() == []


def test_deleting_a_therapy_keeps_its_indications_in_the_audit(session: Session) -> None:
    curation.delete(session, curation.THERAPY, actor="t", record_id="hsct", expected_revision=None)
    audit = _last_audit(session)
    assert audit.before is not None
    assert {i["condition"] for i in audit.before["cascaded"]["indications"]}
    assert audit.before["risk_rules"] is not None


def _new_source(session: Session, source_id: str) -> None:
    entry = SourceEntry(id=source_id, citation="A source made by the tests", kind="other")
    curation.create(session, curation.SOURCE, actor="t", entry=entry)


def test_a_cited_source_is_not_deleted(session: Session) -> None:
    version = current_version(session)
    with pytest.raises(curation.RecordInUse, match="source 'article-ivig-2024' is still cited by"):
        curation.delete(
            session, curation.SOURCE, actor="t", record_id=SOURCE, expected_revision=None
        )
    assert current_version(session) == version
    assert session.get(Source, SOURCE) is not None


def test_a_source_named_only_in_json_is_still_cited(session: Session) -> None:
    # A place's and a cited absence's source live in JSON columns, which no foreign key guards.
    _new_source(session, "only-in-json")
    absence = {"what": "cost", "region": "FR", "note": "None found.", "source": "only-in-json"}
    therapy = curation.THERAPY.to_entry(curation.THERAPY.get(session, "scig"))
    absences = [a.model_dump(mode="json", exclude_none=True) for a in therapy.absences]
    curation.update(
        session,
        curation.THERAPY,
        actor="t",
        record_id="scig",
        changes={"absences": [*absences, absence]},
        expected_revision=None,
    )
    indication = session.scalars(select(Indication).where(Indication.therapy_id == "hsct")).first()
    assert indication is not None
    curation.update(
        session,
        curation.INDICATION,
        actor="t",
        record_id=indication.id,
        changes={"place": {"requires": "none", "source": "only-in-json"}},
        expected_revision=None,
    )
    with pytest.raises(curation.RecordInUse) as refused:
        curation.delete(
            session, curation.SOURCE, actor="t", record_id="only-in-json", expected_revision=None
        )
    assert "therapies scig (a cited absence)" in str(refused.value)
    assert f"indications {indication.id} (its place)" in str(refused.value)


def test_an_uncited_source_is_deleted_and_audited(session: Session) -> None:
    _new_source(session, "cited-by-none")
    version = current_version(session)
    curation.delete(
        session, curation.SOURCE, actor="t", record_id="cited-by-none", expected_revision=1
    )
    assert session.get(Source, "cited-by-none") is None
    assert current_version(session) == version + 1
    audit = _last_audit(session)
    assert (audit.action, audit.entity, audit.entity_id) == ("delete", "source", "cited-by-none")
    assert audit.after is None
    assert audit.before is not None
    assert audit.before["citation"] == "A source made by the tests"
