"""Catalog request and response schemas (`XRead`, `XCreate`, `XUpdate`).

Read models are built from ORM rows (`from_attributes`); `source` fields hold a source id and
every read response also lists the `sources` it cites, resolved, so a client never needs a
second call to show a citation. Create models reuse the catalog file's entry models, so the API
and the seed file accept exactly the same data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field

from db.catalog_file import (
    Administration,
    AvailabilityEntry,
    Coding,
    ConditionEntry,
    CostEntry,
    CourseEntry,
    FigureEntry,
    HomeRule,
    IndicationEntry,
    NonNegative,
    PlaceEntry,
    RiskRuleEntry,
    Slug,
    SourceEntry,
    TermEntry,
    TherapyEntry,
)
from scoring.model import (
    AvailabilityStatus,
    CareSetting,
    Certainty,
    CostBasis,
    IndicationStatus,
    Operator,
    PatientAttribute,
    Severity,
)


def _src(name: str = "source_id") -> Any:
    return Field(validation_alias=AliasChoices(name, "source"))


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class SourceRead(ReadModel):
    id: str
    citation: str
    year: int | None
    kind: str
    identifier: str | None
    url: str | None
    verified: bool
    note: str | None
    revision: int


class CodingRead(ReadModel):
    system: str
    code: str
    display: str | None = None


class AdverseEffectRead(ReadModel):
    id: int
    name: str
    timing: str
    serious: bool
    per_100: float | None
    frequency: str | None
    source: str = _src()


class RiskRuleRead(ReadModel):
    id: str
    therapy: str = Field(validation_alias=AliasChoices("therapy_id", "therapy"))
    condition: str | None = Field(validation_alias=AliasChoices("condition_id", "condition"))
    code: str
    attribute: PatientAttribute | None = Field(description="One comparison; null with `when`")
    operator: Operator | None
    value: float | bool | str | list[str] | None
    when: dict[str, Any] | None = Field(
        default=None,
        validation_alias=AliasChoices("condition_expr", "when"),
        description="A condition over several facts: all / any of comparisons",
    )
    ask_if_unknown: bool | None = None
    severity: Severity
    safety_penalty: float
    message: str
    curator_note: str | None = None
    source: str = _src()
    revision: int


class CostRead(ReadModel):
    id: int
    therapy: str = Field(validation_alias=AliasChoices("therapy_id", "therapy"))
    condition: str | None = Field(validation_alias=AliasChoices("condition_id", "condition"))
    amount: float
    currency: str
    basis: CostBasis
    region: str
    year: int
    note: str | None
    source: str = _src()
    revision: int


class AvailabilityRead(ReadModel):
    id: int
    therapy: str = Field(validation_alias=AliasChoices("therapy_id", "therapy"))
    region: str
    status: AvailabilityStatus
    lead_time_days: float | None
    as_of: str | None
    note: str | None
    source: str = _src()
    revision: int


class FigureRead(ReadModel):
    id: str = Field(validation_alias=AliasChoices("key", "id"), description="Stable id")
    measure: str = Field(validation_alias=AliasChoices("outcome", "measure"))
    outcome: str
    population: str
    time_frame: str = Field(validation_alias=AliasChoices("time_horizon", "time_frame"))
    time_horizon: str
    events: int
    per: int
    comparator: str | None
    comparator_events: int | None
    treated_per_100: float
    comparator_per_100: float | None
    higher_is_better: bool
    certainty: Certainty | None = None
    uncertainty: str | None
    curator_note: str | None = None
    source: str = _src()


class IndicationRead(ReadModel):
    id: int
    therapy: str = Field(validation_alias=AliasChoices("therapy_id", "therapy"))
    condition: str = Field(validation_alias=AliasChoices("condition_id", "condition"))
    status: IndicationStatus
    certainty: Certainty
    evidence_grade: str | None
    population: str | None
    onset_days: float | None
    sessions_per_month: float | None
    hours_per_session: float | None
    courses_per_year: float | None
    dose_per_kg: float | None = Field(
        default=None,
        description="Dose each session per kg of body weight, in the unit of a per_gram or "
        "per_mg price",
    )
    course: dict[str, Any] | None = Field(
        default=None,
        description="How long the treatment lasts: kind, plain words and source "
        "(docs/catalog-format.md); null when no source gives it",
    )
    place: dict[str, Any] | None = Field(
        default=None, description="What must come before it (docs/catalog-format.md)"
    )
    message: str | None = None
    note: str | None = Field(description="Curator-only note")
    source: str = _src()
    figures: list[FigureRead]
    revision: int


class HomeRuleRead(BaseModel):
    after_supervised_infusions: int
    text: str | None
    source: str | None


class AdministrationRead(BaseModel):
    hours_per_session: float | None = Field(description="null: not known")
    hours_per_session_range: tuple[float, float] | None
    sessions_per_month: float | None = Field(description="null: not known")
    needles_per_session: float | None = Field(description="null: not known")
    text: str | None
    source: str


class TherapyRead(BaseModel):
    id: str
    name: str
    modality: str
    route: str
    summary: str
    care_settings: list[CareSetting]
    codes: list[CodingRead]
    home_rule: HomeRuleRead | None
    administration: AdministrationRead
    onset_days: float | None
    source: str
    revision: int
    adverse_effects: list[AdverseEffectRead]
    risk_rules: list[RiskRuleRead]
    costs: list[CostRead]
    availability: list[AvailabilityRead]
    indications: list[IndicationRead]
    sources: list[SourceRead] = Field(description="Every source cited above, resolved.")


class ConditionRead(BaseModel):
    id: str
    name: str
    summary: str | None
    codes: list[CodingRead]
    source: str
    revision: int
    indications: list[IndicationRead]
    sources: list[SourceRead]


class TherapyList(BaseModel):
    items: list[TherapyRead]


class ConditionList(BaseModel):
    items: list[ConditionRead]


class IndicationList(BaseModel):
    items: list[IndicationRead]


class SourceList(BaseModel):
    items: list[SourceRead]


class RiskFactorRead(ReadModel):
    id: str
    label: str
    description: str | None
    codes: list[CodingRead]
    implies: list[str] = Field(default=[], description="Factors the patient then has too")
    may_be: list[str] = Field(
        default=[], description="Factors it leaves open: a rule on them asks for `check`"
    )
    check: str | None = Field(default=None, validation_alias=AliasChoices("check_fact", "check"))


class RiskFactorList(BaseModel):
    items: list[RiskFactorRead]


# ---------------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------------


class Patch(BaseModel):
    """Partial update: only the fields sent change; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


TherapyCreate = TherapyEntry
ConditionCreate = ConditionEntry
IndicationCreate = IndicationEntry
SourceCreate = SourceEntry


CostCreate = CostEntry
AvailabilityCreate = AvailabilityEntry
RiskRuleCreate = RiskRuleEntry


class TherapyUpdate(Patch):
    name: str | None = None
    modality: Slug | None = None
    route: Slug | None = None
    summary: str | None = None
    source: Slug | None = None
    care_settings: list[CareSetting] | None = None
    codes: list[Coding] | None = None
    home_rule: HomeRule | None = None
    administration: Administration | None = None
    onset_days: NonNegative | None = None


class ConditionUpdate(Patch):
    name: str | None = None
    summary: str | None = None
    source: Slug | None = None
    codes: list[Coding] | None = None


class IndicationUpdate(Patch):
    status: IndicationStatus | None = None
    certainty: Certainty | None = None
    evidence_grade: str | None = None
    population: str | None = None
    onset_days: NonNegative | None = None
    sessions_per_month: NonNegative | None = None
    hours_per_session: NonNegative | None = None
    courses_per_year: NonNegative | None = None
    course: CourseEntry | None = None
    place: PlaceEntry | None = None
    message: str | None = None
    note: str | None = None
    source: Slug | None = None
    figures: list[FigureEntry] | None = None


class CostUpdate(Patch):
    amount: NonNegative | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    basis: CostBasis | None = None
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    condition: Slug | None = None
    note: str | None = None
    source: Slug | None = None


class AvailabilityUpdate(Patch):
    status: AvailabilityStatus | None = None
    lead_time_days: NonNegative | None = None
    as_of: Annotated[str, Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] | None = None
    note: str | None = None
    source: Slug | None = None


class RiskRuleUpdate(Patch):
    code: Slug | None = None
    attribute: PatientAttribute | None = None
    operator: Operator | None = None
    value: float | bool | str | list[str] | None = None
    when: TermEntry | None = None
    ask_if_unknown: bool | None = None
    curator_note: str | None = None
    severity: Severity | None = None
    safety_penalty: Annotated[float, Field(ge=0, le=1)] | None = None
    condition: Slug | None = None
    message: str | None = None
    source: Slug | None = None


class SourceUpdate(Patch):
    citation: str | None = None
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    kind: str | None = None
    identifier: str | None = None
    url: str | None = None
    verified: bool | None = None
    note: str | None = None


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC, so say so (RFC 3339)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


class AuditRead(ReadModel):
    id: int
    catalog_version: int
    at: UtcDateTime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(BaseModel):
    items: list[AuditRead]


class CatalogVersionRead(BaseModel):
    catalog_version: int
