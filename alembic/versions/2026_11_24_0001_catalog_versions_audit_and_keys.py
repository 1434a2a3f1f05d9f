"""catalog, versions, audit and keys

Revision ID: 0001
Revises:
Create Date: 2026-11-24 10:31:25.454468
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "catalog_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalog_versions")),
    )
    op.create_table(
        "observation_codes",
        sa.Column("attribute", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("attribute", name=op.f("pk_observation_codes")),
    )
    op.create_table(
        "risk_factors",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_factors")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("catalog_version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["catalog_version"],
            ["catalog_versions.version"],
            name=op.f("fk_audit_log_catalog_version_catalog_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_catalog_version"), ["catalog_version"], unique=False
        )

    op.create_table(
        "conditions",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_conditions_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conditions")),
    )
    with op.batch_alter_table("conditions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conditions_source_id"), ["source_id"], unique=False)

    op.create_table(
        "therapies",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("modality", sa.String(length=80), nullable=False),
        sa.Column("route", sa.String(length=80), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.Column("care_settings", sa.JSON(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("home_after_supervised", sa.Integer(), nullable=True),
        sa.Column("home_rule_text", sa.Text(), nullable=True),
        sa.Column("home_rule_source_id", sa.String(length=80), nullable=True),
        sa.Column("hours_per_session", sa.Float(), nullable=False),
        sa.Column("hours_per_session_min", sa.Float(), nullable=True),
        sa.Column("hours_per_session_max", sa.Float(), nullable=True),
        sa.Column("sessions_per_month", sa.Float(), nullable=False),
        sa.Column("needles_per_session", sa.Float(), nullable=False),
        sa.Column("administration_text", sa.Text(), nullable=True),
        sa.Column("administration_source_id", sa.String(length=80), nullable=False),
        sa.Column("onset_days", sa.Float(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["administration_source_id"],
            ["sources.id"],
            name=op.f("fk_therapies_administration_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["home_rule_source_id"],
            ["sources.id"],
            name=op.f("fk_therapies_home_rule_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_therapies_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapies")),
    )
    with op.batch_alter_table("therapies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_therapies_administration_source_id"),
            ["administration_source_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_therapies_home_rule_source_id"), ["home_rule_source_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_therapies_modality"), ["modality"], unique=False)
        batch_op.create_index(batch_op.f("ix_therapies_source_id"), ["source_id"], unique=False)

    op.create_table(
        "value_scales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_value_scales_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_scales")),
    )
    with op.batch_alter_table("value_scales", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_value_scales_source_id"), ["source_id"], unique=False)

    op.create_table(
        "adverse_effects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("therapy_id", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timing", sa.String(length=20), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("per_100", sa.Float(), nullable=True),
        sa.Column("frequency", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_adverse_effects_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"],
            ["therapies.id"],
            name=op.f("fk_adverse_effects_therapy_id_therapies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_effects")),
    )
    with op.batch_alter_table("adverse_effects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_effects_source_id"), ["source_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_effects_therapy_id"), ["therapy_id"], unique=False
        )

    op.create_table(
        "availability",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("therapy_id", sa.String(length=80), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("lead_time_days", sa.Float(), nullable=True),
        sa.Column("as_of", sa.String(length=10), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_availability_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"],
            ["therapies.id"],
            name=op.f("fk_availability_therapy_id_therapies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability")),
        sa.UniqueConstraint("therapy_id", "region", name="uq_availability_therapy_id_region"),
    )
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_availability_source_id"), ["source_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_availability_therapy_id"), ["therapy_id"], unique=False
        )

    op.create_table(
        "condition_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("condition_id", sa.String(length=80), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["conditions.id"],
            name=op.f("fk_condition_codes_condition_id_conditions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_condition_codes")),
        sa.UniqueConstraint("system", "code", name="uq_condition_codes_system_code"),
    )
    with op.batch_alter_table("condition_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_condition_codes_code"), ["code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_condition_codes_condition_id"), ["condition_id"], unique=False
        )

    op.create_table(
        "costs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("therapy_id", sa.String(length=80), nullable=False),
        sa.Column("condition_id", sa.String(length=80), nullable=True),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["conditions.id"],
            name=op.f("fk_costs_condition_id_conditions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_costs_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"],
            ["therapies.id"],
            name=op.f("fk_costs_therapy_id_therapies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_costs")),
    )
    with op.batch_alter_table("costs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_costs_condition_id"), ["condition_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_costs_region"), ["region"], unique=False)
        batch_op.create_index(batch_op.f("ix_costs_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_costs_therapy_id"), ["therapy_id"], unique=False)

    op.create_table(
        "indications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("therapy_id", sa.String(length=80), nullable=False),
        sa.Column("condition_id", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("certainty", sa.String(length=10), nullable=False),
        sa.Column("evidence_grade", sa.Text(), nullable=True),
        sa.Column("population", sa.Text(), nullable=True),
        sa.Column("onset_days", sa.Float(), nullable=True),
        sa.Column("sessions_per_month", sa.Float(), nullable=True),
        sa.Column("hours_per_session", sa.Float(), nullable=True),
        sa.Column("courses_per_year", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["conditions.id"],
            name=op.f("fk_indications_condition_id_conditions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_indications_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"],
            ["therapies.id"],
            name=op.f("fk_indications_therapy_id_therapies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indications")),
        sa.UniqueConstraint(
            "therapy_id", "condition_id", name="uq_indications_therapy_id_condition_id"
        ),
    )
    with op.batch_alter_table("indications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indications_condition_id"), ["condition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_indications_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_indications_therapy_id"), ["therapy_id"], unique=False)

    op.create_table(
        "risk_rules",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("therapy_id", sa.String(length=80), nullable=False),
        sa.Column("condition_id", sa.String(length=80), nullable=True),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("attribute", sa.String(length=40), nullable=False),
        sa.Column("operator", sa.String(length=8), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("safety_penalty", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["conditions.id"],
            name=op.f("fk_risk_rules_condition_id_conditions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_risk_rules_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"],
            ["therapies.id"],
            name=op.f("fk_risk_rules_therapy_id_therapies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_rules")),
    )
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_rules_condition_id"), ["condition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_risk_rules_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_rules_therapy_id"), ["therapy_id"], unique=False)

    op.create_table(
        "outcome_figures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("indication_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("population", sa.Text(), nullable=False),
        sa.Column("time_horizon", sa.Text(), nullable=False),
        sa.Column("treated_per_100", sa.Float(), nullable=False),
        sa.Column("comparator", sa.Text(), nullable=True),
        sa.Column("comparator_per_100", sa.Float(), nullable=True),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("uncertainty", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["indication_id"],
            ["indications.id"],
            name=op.f("fk_outcome_figures_indication_id_indications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_outcome_figures_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_figures")),
    )
    with op.batch_alter_table("outcome_figures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcome_figures_indication_id"), ["indication_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outcome_figures_source_id"), ["source_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outcome_figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_figures_source_id"))
        batch_op.drop_index(batch_op.f("ix_outcome_figures_indication_id"))

    op.drop_table("outcome_figures")
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_rules_therapy_id"))
        batch_op.drop_index(batch_op.f("ix_risk_rules_source_id"))
        batch_op.drop_index(batch_op.f("ix_risk_rules_condition_id"))

    op.drop_table("risk_rules")
    with op.batch_alter_table("indications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indications_therapy_id"))
        batch_op.drop_index(batch_op.f("ix_indications_source_id"))
        batch_op.drop_index(batch_op.f("ix_indications_condition_id"))

    op.drop_table("indications")
    with op.batch_alter_table("costs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_costs_therapy_id"))
        batch_op.drop_index(batch_op.f("ix_costs_source_id"))
        batch_op.drop_index(batch_op.f("ix_costs_region"))
        batch_op.drop_index(batch_op.f("ix_costs_condition_id"))

    op.drop_table("costs")
    with op.batch_alter_table("condition_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_condition_codes_condition_id"))
        batch_op.drop_index(batch_op.f("ix_condition_codes_code"))

    op.drop_table("condition_codes")
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_therapy_id"))
        batch_op.drop_index(batch_op.f("ix_availability_source_id"))

    op.drop_table("availability")
    with op.batch_alter_table("adverse_effects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_effects_therapy_id"))
        batch_op.drop_index(batch_op.f("ix_adverse_effects_source_id"))

    op.drop_table("adverse_effects")
    with op.batch_alter_table("value_scales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_value_scales_source_id"))

    op.drop_table("value_scales")
    with op.batch_alter_table("therapies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_therapies_source_id"))
        batch_op.drop_index(batch_op.f("ix_therapies_modality"))
        batch_op.drop_index(batch_op.f("ix_therapies_home_rule_source_id"))
        batch_op.drop_index(batch_op.f("ix_therapies_administration_source_id"))

    op.drop_table("therapies")
    with op.batch_alter_table("conditions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conditions_source_id"))

    op.drop_table("conditions")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_catalog_version"))

    op.drop_table("audit_log")
    op.drop_table("sources")
    op.drop_table("risk_factors")
    op.drop_table("observation_codes")
    op.drop_table("catalog_versions")
    op.drop_table("api_keys")
