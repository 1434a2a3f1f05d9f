"""administration numbers may be unknown (NULL) instead of a misleading 0

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("hours_per_session", "sessions_per_month", "needles_per_session")


def upgrade() -> None:
    with op.batch_alter_table("therapies") as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # Unknown becomes 0 again: the old schema could not say "not known".
    for column in COLUMNS:
        op.execute(sa.text(f"UPDATE therapies SET {column} = 0 WHERE {column} IS NULL"))
    with op.batch_alter_table("therapies") as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.Float(), nullable=False)
