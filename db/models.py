"""SQLAlchemy 2 models of the catalog, its versions and audit log, and API keys.

Relationships are `lazy="raise"`: every query says what it loads (`db.queries`), so a route can
never trigger a hidden query per row. Curator-editable rows carry a `revision` counter used as
SQLAlchemy's version id, so two curators editing the same row cannot silently overwrite each
other (the second gets a conflict), and as the HTTP ETag.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, get_args

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.catalog_file import EffectTiming, SourceKind
from scoring.model import (
    AvailabilityStatus,
    Certainty,
    CostBasis,
    IndicationStatus,
    Operator,
    PatientAttribute,
    Severity,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SLUG = 80


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def _words(name: str, words: type[StrEnum] | Any, length: int) -> Enum:
    """A text column holding one of a fixed set of words, with a CHECK constraint naming them,
    so a bad value cannot enter by any path (a hand-written UPDATE, a migration). For an enum
    class the column reads back as its members, so the snapshot loader converts nothing."""
    if isinstance(words, type) and issubclass(words, StrEnum):
        return Enum(
            words,
            name=name,
            native_enum=False,
            create_constraint=True,
            length=length,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        )
    return Enum(
        *get_args(words),
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
    )


def _source_fk(nullable: bool = False) -> Mapped[Any]:
    return mapped_column(
        String(SLUG), ForeignKey("sources.id", ondelete="RESTRICT"), nullable=nullable, index=True
    )


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    citation: Mapped[str] = mapped_column(Text)
    year: Mapped[int | None]
    kind: Mapped[SourceKind] = mapped_column(_words("kind", SourceKind, 20))
    identifier: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(1000))
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class RiskFactor(Base):
    __tablename__ = "risk_factors"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # What the factor says about others (see db.catalog_file.RiskFactorEntry).
    implies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    may_be: Mapped[list[Any]] = mapped_column(JSON, default=list)
    check_fact: Mapped[str | None] = mapped_column(String(SLUG))


class ObservationCode(Base):
    """LOINC codes the EHR intake reads into a patient field (catalog data, not code)."""

    __tablename__ = "observation_codes"

    attribute: Mapped[str] = mapped_column(String(40), primary_key=True)
    unit: Mapped[str | None] = mapped_column(String(40))
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ValueScales(Base):
    """The fixed clinical scales of the value functions: one row, edited like any catalog data."""

    __tablename__ = "value_scales"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_id: Mapped[str] = _source_fk()


class Condition(Base):
    __tablename__ = "conditions"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = _source_fk()
    revision: Mapped[int] = mapped_column(Integer, default=1)

    codes: Mapped[list[ConditionCode]] = relationship(
        back_populates="condition",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="ConditionCode.id",
    )

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class ConditionCode(Base):
    __tablename__ = "condition_codes"
    __table_args__ = (UniqueConstraint("system", "code", name="uq_condition_codes_system_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    condition_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("conditions.id", ondelete="CASCADE"), index=True
    )
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64), index=True)
    display: Mapped[str | None] = mapped_column(String(300))

    condition: Mapped[Condition] = relationship(back_populates="codes", lazy="raise")


class Therapy(Base):
    __tablename__ = "therapies"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    modality: Mapped[str] = mapped_column(String(SLUG), index=True)
    route: Mapped[str] = mapped_column(String(SLUG))
    summary: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = _source_fk()
    care_settings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    home_after_supervised: Mapped[int | None]
    home_rule_text: Mapped[str | None] = mapped_column(Text)
    home_rule_source_id: Mapped[str | None] = _source_fk(nullable=True)
    hours_per_session: Mapped[float | None] = mapped_column(Float)
    hours_per_session_min: Mapped[float | None] = mapped_column(Float)
    hours_per_session_max: Mapped[float | None] = mapped_column(Float)
    sessions_per_month: Mapped[float | None] = mapped_column(Float)
    needles_per_session: Mapped[float | None] = mapped_column(Float)
    administration_text: Mapped[str | None] = mapped_column(Text)
    administration_source_id: Mapped[str] = _source_fk()
    onset_days: Mapped[float | None] = mapped_column(Float)
    # Cited absences: facts no public source gives (db.catalog_file.AbsenceEntry as JSON).
    absences: Mapped[list[Any]] = mapped_column(JSON, default=list)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    adverse_effects: Mapped[list[AdverseEffect]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="AdverseEffect.position"
    )
    risk_rules: Mapped[list[RiskRule]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="RiskRule.id"
    )
    costs: Mapped[list[Cost]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Cost.id"
    )
    availability: Mapped[list[Availability]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Availability.region"
    )
    indications: Mapped[list[Indication]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Indication.condition_id"
    )

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


def _therapy_fk() -> Mapped[str]:
    return mapped_column(String(SLUG), ForeignKey("therapies.id", ondelete="CASCADE"), index=True)


def _condition_fk(nullable: bool) -> Mapped[Any]:
    return mapped_column(
        String(SLUG),
        ForeignKey("conditions.id", ondelete="CASCADE"),
        nullable=nullable,
        index=True,
    )


class AdverseEffect(Base):
    __tablename__ = "adverse_effects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    therapy_id: Mapped[str] = _therapy_fk()
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    timing: Mapped[EffectTiming] = mapped_column(_words("timing", EffectTiming, 20))
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    per_100: Mapped[float | None] = mapped_column(Float)
    frequency: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = _source_fk()


class RiskRule(Base):
    __tablename__ = "risk_rules"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    therapy_id: Mapped[str] = _therapy_fk()
    condition_id: Mapped[str | None] = _condition_fk(nullable=True)
    code: Mapped[str] = mapped_column(String(SLUG))
    # One comparison (attribute, operator, value), or a condition over several facts in
    # `condition_expr` (the file's `when`), never both.
    attribute: Mapped[PatientAttribute | None] = mapped_column(
        _words("attribute", PatientAttribute, 40)
    )
    operator: Mapped[Operator | None] = mapped_column(_words("operator", Operator, 8))
    value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    condition_expr: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    ask_if_unknown: Mapped[bool | None] = mapped_column(Boolean)
    severity: Mapped[Severity] = mapped_column(_words("severity", Severity, 10))
    safety_penalty: Mapped[float] = mapped_column(Float, default=0)
    message: Mapped[str] = mapped_column(Text)
    curator_note: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = _source_fk()
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class Cost(Base):
    __tablename__ = "costs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    therapy_id: Mapped[str] = _therapy_fk()
    condition_id: Mapped[str | None] = _condition_fk(nullable=True)
    amount: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    basis: Mapped[CostBasis] = mapped_column(_words("basis", CostBasis, 20))
    region: Mapped[str] = mapped_column(String(2), index=True)
    year: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = _source_fk()
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class Availability(Base):
    __tablename__ = "availability"
    __table_args__ = (
        UniqueConstraint("therapy_id", "region", name="uq_availability_therapy_id_region"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    therapy_id: Mapped[str] = _therapy_fk()
    region: Mapped[str] = mapped_column(String(2))
    status: Mapped[AvailabilityStatus] = mapped_column(_words("status", AvailabilityStatus, 20))
    lead_time_days: Mapped[float | None] = mapped_column(Float)
    as_of: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = _source_fk()
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class Indication(Base):
    __tablename__ = "indications"
    __table_args__ = (
        UniqueConstraint(
            "therapy_id", "condition_id", name="uq_indications_therapy_id_condition_id"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    therapy_id: Mapped[str] = _therapy_fk()
    condition_id: Mapped[str] = _condition_fk(nullable=False)
    status: Mapped[IndicationStatus] = mapped_column(_words("status", IndicationStatus, 20))
    certainty: Mapped[Certainty] = mapped_column(_words("certainty", Certainty, 10))
    evidence_grade: Mapped[str | None] = mapped_column(Text)
    population: Mapped[str | None] = mapped_column(Text)
    onset_days: Mapped[float | None] = mapped_column(Float)
    sessions_per_month: Mapped[float | None] = mapped_column(Float)
    hours_per_session: Mapped[float | None] = mapped_column(Float)
    courses_per_year: Mapped[float | None] = mapped_column(Float)
    dose_per_kg: Mapped[float | None] = mapped_column(Float)
    # How long the treatment lasts (db.catalog_file.CourseEntry as JSON); NULL: not recorded.
    course: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    # The place (db.catalog_file.PlaceEntry as JSON); NULL only for excluded statuses.
    place: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    message: Mapped[str | None] = mapped_column(Text)  # patient-facing
    note: Mapped[str | None] = mapped_column(Text)  # curator-only
    source_id: Mapped[str] = _source_fk()
    revision: Mapped[int] = mapped_column(Integer, default=1)

    figures: Mapped[list[OutcomeFigure]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="OutcomeFigure.position"
    )

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class OutcomeFigure(Base):
    __tablename__ = "outcome_figures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    indication_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("indications.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(SLUG), unique=True)  # the file's stable `id`
    outcome: Mapped[str] = mapped_column(Text)  # the file's `measure`
    population: Mapped[str] = mapped_column(Text)
    time_horizon: Mapped[str] = mapped_column(Text)  # the file's `time_frame`
    events: Mapped[int] = mapped_column(Integer)
    per: Mapped[int] = mapped_column(Integer)
    comparator: Mapped[str | None] = mapped_column(Text)
    comparator_events: Mapped[int | None] = mapped_column(Integer)
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=True)
    certainty: Mapped[Certainty | None] = mapped_column(_words("certainty", Certainty, 10))
    uncertainty: Mapped[str | None] = mapped_column(Text)
    curator_note: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = _source_fk()

    @property
    def treated_per_100(self) -> float:
        """Kept for readers of the first API: events on a denominator of 100."""
        return self.events * 100 / self.per

    @property
    def comparator_per_100(self) -> float | None:
        if self.comparator_events is None:
            return None
        return self.comparator_events * 100 / self.per


class CatalogVersion(Base):
    """One row per catalog change; the primary key serialises concurrent writers."""

    __tablename__ = "catalog_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    # The [kind, entity_id] pairs whose release is still to be recorded (db/releases.py, 0015).
    pending_release: Mapped[list[list[str]] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )


class AuditEntry(Base):
    """Append-only: nothing in the code updates or deletes these rows."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    catalog_version: Mapped[int] = mapped_column(
        Integer, ForeignKey("catalog_versions.version"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class ApiKey(Base):
    """A hashed API key with a role; the plain key is shown once, at creation."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('reader', 'curator', 'clinician', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CdsFeedback(Base):
    """What a clinician did with a CDS Hooks card (accepted or overridden), for curators.

    One row per (service, card, outcome, timestamp): the spec lets a client send the same
    feedback more than once, so the unique key makes writes idempotent. No patient identifiers
    and no tokens are stored; `issuer` and `tenant` come from the verified EHR JWT.
    """

    __tablename__ = "cds_feedback"
    __table_args__ = (
        UniqueConstraint(
            "service_id",
            "card_uuid",
            "outcome",
            "outcome_timestamp",
            name="uq_cds_feedback_service_id_card_uuid_outcome_timestamp",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(SLUG), index=True)
    card_uuid: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_suggestions: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    override_reason_system: Mapped[str | None] = mapped_column(String(300))
    override_reason_code: Mapped[str | None] = mapped_column(String(100))
    override_reason_display: Mapped[str | None] = mapped_column(Text)
    user_comment: Mapped[str | None] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(String(300))
    tenant: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CdsJwtId(Base):
    """A CDS Hooks JWT `jti` already accepted, kept until the token expires (replay guard).

    In the database so every replica sees every other replica's tokens: a token replayed to
    any replica within its lifetime is refused. The key is (issuer, jti): `jti` is unique per
    issuer only. Rows past `expires_at` are purged as new tokens arrive.
    """

    __tablename__ = "cds_jwt_ids"

    issuer: Mapped[str] = mapped_column(String(300), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# ---------------------------------------------------------------------------------------------
# Catalog releases: every catalog version can be rebuilt exactly (see db/releases.py)
# ---------------------------------------------------------------------------------------------


class CatalogBlob(Base):
    """One catalog entity's content (its catalog-file entry as canonical JSON), by SHA-256.

    Content-addressed: an unchanged entity is stored once however many releases include it.
    """

    __tablename__ = "catalog_blobs"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class ReleaseEntry(Base):
    """A change to one entity at one catalog version: its new content's digest, or NULL when
    it was removed. A release's manifest is, for each entity, its latest entry at or before
    that version; a write adds one row per entity it changed, never a copy of the catalog."""

    __tablename__ = "release_entries"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(
        Integer, ForeignKey("catalog_versions.version"), primary_key=True
    )
    digest: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("catalog_blobs.digest"), nullable=True
    )


class CatalogRelease(Base):
    """A release recorded whole: the first one is the baseline, and every version from it on can
    be rebuilt (each write records its release's changes, or what it changed for the release
    to be recorded before the next write: 0015). Versions
    before it, made before releases began, cannot. Databases from before 0014 also hold a row
    for each version since; the first row means the same."""

    __tablename__ = "catalog_releases"

    version: Mapped[int] = mapped_column(
        Integer, ForeignKey("catalog_versions.version"), primary_key=True, autoincrement=False
    )
    changed: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---------------------------------------------------------------------------------------------
# Decision records (append-only; see db/decisions.py)
# ---------------------------------------------------------------------------------------------


class DecisionRecord(Base):
    """What was decided (or deferred) in a visit, on which evidence. No direct identifiers:
    `external_ref` is kept only as an HMAC. Never updated: a correction is a new record that
    names the one it corrects."""

    __tablename__ = "decision_records"
    __table_args__ = (
        CheckConstraint("status IN ('decided', 'deferred')", name="status"),
        CheckConstraint(
            "(status = 'decided' AND chosen_therapy_id IS NOT NULL)"
            " OR (status = 'deferred' AND chosen_therapy_id IS NULL)",
            name="chosen_matches_status",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    chosen_therapy_id: Mapped[str | None] = mapped_column(String(SLUG))
    participants: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    external_ref_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    corrects: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("decision_records.id"), index=True
    )
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    catalog_version: Mapped[int] = mapped_column(Integer)
    engine_version: Mapped[str] = mapped_column(String(80))
    result_digest: Mapped[str] = mapped_column(String(64))


class DecisionAccess(Base):
    """Who read, looked up or replayed a decision record, and when (append-only)."""

    __tablename__ = "decision_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("decision_records.id"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
