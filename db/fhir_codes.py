"""Reading the catalog's FHIR code lists (conditions, risk factors, observations, therapies).

The EHR intake maps FHIR codings to catalog ids only through these lists, so a new ICD-10-CM
release or a local code is a catalog edit, never a code change. The API caches the result per
catalog version (`api.fhir.codes`); these functions run once per version, not per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ConditionCode, ObservationCode, RiskFactor, Therapy
from db.versioning import current_version


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One catalog coding and the catalog id it stands for."""

    target: str
    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True, slots=True)
class ObservationCodeRow:
    attribute: str
    unit: str | None
    codes: tuple[CodeRow, ...]


@dataclass(frozen=True, slots=True)
class CatalogCodeRows:
    version: int
    conditions: tuple[CodeRow, ...]
    risk_factors: tuple[CodeRow, ...]
    therapies: tuple[CodeRow, ...]
    observations: tuple[ObservationCodeRow, ...]


def _json_codes(target: str, raw: list[Any] | None) -> list[CodeRow]:
    rows = []
    for item in raw or []:
        if isinstance(item, dict) and item.get("system") and item.get("code"):
            rows.append(
                CodeRow(
                    target=target,
                    system=str(item["system"]),
                    code=str(item["code"]),
                    display=str(item["display"]) if item.get("display") else None,
                )
            )
    return rows


def condition_code_rows(session: Session) -> list[CodeRow]:
    result = session.execute(
        select(
            ConditionCode.condition_id,
            ConditionCode.system,
            ConditionCode.code,
            ConditionCode.display,
        ).order_by(ConditionCode.condition_id, ConditionCode.id)
    )
    return [CodeRow(target=c, system=s, code=k, display=d) for c, s, k, d in result]


def risk_factor_code_rows(session: Session) -> list[CodeRow]:
    result = session.execute(select(RiskFactor.id, RiskFactor.codes).order_by(RiskFactor.id))
    return [row for factor_id, codes in result for row in _json_codes(factor_id, codes)]


def therapy_code_rows(session: Session) -> list[CodeRow]:
    result = session.execute(select(Therapy.id, Therapy.codes).order_by(Therapy.id))
    return [row for therapy_id, codes in result for row in _json_codes(therapy_id, codes)]


def observation_code_rows(session: Session) -> list[ObservationCodeRow]:
    result = session.execute(
        select(ObservationCode.attribute, ObservationCode.unit, ObservationCode.codes).order_by(
            ObservationCode.attribute
        )
    )
    return [
        ObservationCodeRow(
            attribute=attribute, unit=unit, codes=tuple(_json_codes(attribute, codes))
        )
        for attribute, unit, codes in result
    ]


def load_code_rows(session: Session) -> CatalogCodeRows:
    """All code lists and the version they belong to, read in one transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return CatalogCodeRows(
        version=current_version(session),
        conditions=tuple(condition_code_rows(session)),
        risk_factors=tuple(risk_factor_code_rows(session)),
        therapies=tuple(therapy_code_rows(session)),
        observations=tuple(observation_code_rows(session)),
    )
