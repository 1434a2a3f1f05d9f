"""cds hooks jwt ids (shared replay store)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cds_jwt_ids",
        sa.Column("issuer", sa.String(length=300), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name=op.f("pk_cds_jwt_ids")),
    )
    with op.batch_alter_table("cds_jwt_ids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cds_jwt_ids_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cds_jwt_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cds_jwt_ids_expires_at"))
    op.drop_table("cds_jwt_ids")
