"""Turning catalog ORM rows into read schemas, with every cited source resolved."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from api.schemas.catalog import (
    AdministrationRead,
    AdverseEffectRead,
    AvailabilityRead,
    CodingRead,
    ConditionRead,
    CostRead,
    HomeRuleRead,
    IndicationRead,
    RiskRuleRead,
    SourceRead,
    TherapyRead,
)
from db import models
from db.catalog_io import therapy_entry
from db.queries import get_sources, indications_for_condition


def _resolve(session: Session, ids: Iterable[str | None]) -> list[SourceRead]:
    return [SourceRead.model_validate(s) for s in get_sources(session, {i for i in ids if i})]


def _indication_sources(indication: models.Indication) -> list[str]:
    return [indication.source_id, *(f.source_id for f in indication.figures)]


def therapy_read(session: Session, row: models.Therapy) -> TherapyRead:
    return therapies_read(session, [row])[0]


def therapies_read(session: Session, rows: Sequence[models.Therapy]) -> list[TherapyRead]:
    """Shape therapies and resolve all their sources with one query for the whole list."""
    cited: dict[str, list[str | None]] = {}
    for row in rows:
        cited[row.id] = [
            row.source_id,
            row.administration_source_id,
            row.home_rule_source_id,
            *(e.source_id for e in row.adverse_effects),
            *(r.source_id for r in row.risk_rules),
            *(c.source_id for c in row.costs),
            *(a.source_id for a in row.availability),
            *(s for i in row.indications for s in _indication_sources(i)),
        ]
    resolved = {s.id: s for s in _resolve(session, (i for ids in cited.values() for i in ids))}
    out = []
    for row in rows:
        # The record's own mapping (`db.catalog_io`), so the API and the catalog file agree on
        # when a therapy has a home rule and what its administration says.
        entry = therapy_entry(row)
        out.append(
            TherapyRead(
                id=row.id,
                name=row.name,
                modality=row.modality,
                route=row.route,
                summary=row.summary,
                care_settings=row.care_settings,
                codes=[CodingRead.model_validate(c) for c in row.codes],
                home_rule=(
                    HomeRuleRead(**entry.home_rule.model_dump()) if entry.home_rule else None
                ),
                administration=AdministrationRead(**entry.administration.model_dump()),
                onset_days=row.onset_days,
                source=row.source_id,
                revision=row.revision,
                adverse_effects=[AdverseEffectRead.model_validate(e) for e in row.adverse_effects],
                risk_rules=[RiskRuleRead.model_validate(r) for r in row.risk_rules],
                costs=[CostRead.model_validate(c) for c in row.costs],
                availability=[AvailabilityRead.model_validate(a) for a in row.availability],
                indications=[IndicationRead.model_validate(i) for i in row.indications],
                sources=[resolved[s] for s in sorted({i for i in cited[row.id] if i})],
            )
        )
    return out


def condition_read(session: Session, row: models.Condition) -> ConditionRead:
    indications = indications_for_condition(session, row.id)
    cited = [row.source_id, *(s for i in indications for s in _indication_sources(i))]
    return ConditionRead(
        id=row.id,
        name=row.name,
        summary=row.summary,
        codes=[CodingRead.model_validate(c) for c in row.codes],
        source=row.source_id,
        revision=row.revision,
        indications=[IndicationRead.model_validate(i) for i in indications],
        sources=_resolve(session, cited),
    )
