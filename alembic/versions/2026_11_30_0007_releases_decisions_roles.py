"""catalog releases (content-addressed), decision records, the clinician role

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_api_keys_role"), "role IN ('reader', 'curator', 'clinician', 'admin')"
        )
    op.create_table(
        "catalog_blobs",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_catalog_blobs")),
    )
    op.create_table(
        "catalog_releases",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["catalog_versions.version"],
            name=op.f("fk_catalog_releases_version_catalog_versions"),
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalog_releases")),
    )
    op.create_table(
        "release_entries",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["digest"],
            ["catalog_blobs.digest"],
            name=op.f("fk_release_entries_digest_catalog_blobs"),
        ),
        sa.ForeignKeyConstraint(
            ["version"],
            ["catalog_versions.version"],
            name=op.f("fk_release_entries_version_catalog_versions"),
        ),
        sa.PrimaryKeyConstraint("kind", "entity_id", "version", name=op.f("pk_release_entries")),
    )
    op.create_table(
        "decision_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("chosen_therapy_id", sa.String(length=80), nullable=True),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("external_ref_hmac", sa.String(length=64), nullable=True),
        sa.Column("corrects", sa.String(length=36), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("catalog_version", sa.Integer(), nullable=False),
        sa.Column("engine_version", sa.String(length=80), nullable=False),
        sa.Column("result_digest", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "status IN ('decided', 'deferred')", name=op.f("ck_decision_records_status")
        ),
        sa.CheckConstraint(
            "(status = 'decided' AND chosen_therapy_id IS NOT NULL)"
            " OR (status = 'deferred' AND chosen_therapy_id IS NULL)",
            name=op.f("ck_decision_records_chosen_matches_status"),
        ),
        sa.ForeignKeyConstraint(
            ["corrects"],
            ["decision_records.id"],
            name=op.f("fk_decision_records_corrects_decision_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_records")),
    )
    op.create_index(
        op.f("ix_decision_records_corrects"), "decision_records", ["corrects"], unique=False
    )
    op.create_index(
        op.f("ix_decision_records_external_ref_hmac"),
        "decision_records",
        ["external_ref_hmac"],
        unique=False,
    )
    op.create_table(
        "decision_access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision_records.id"],
            name=op.f("fk_decision_access_log_decision_id_decision_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_access_log")),
    )
    op.create_index(
        op.f("ix_decision_access_log_decision_id"),
        "decision_access_log",
        ["decision_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_decision_access_log_decision_id"), table_name="decision_access_log")
    op.drop_table("decision_access_log")
    op.drop_index(op.f("ix_decision_records_external_ref_hmac"), table_name="decision_records")
    op.drop_index(op.f("ix_decision_records_corrects"), table_name="decision_records")
    op.drop_table("decision_records")
    op.drop_table("release_entries")
    op.drop_table("catalog_releases")
    op.drop_table("catalog_blobs")
    # A clinician key cannot exist under the old schema's roles: it is revoked by deletion.
    op.execute(sa.text("DELETE FROM api_keys WHERE role = 'clinician'"))
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_constraint(op.f("ck_api_keys_role"), type_="check")
