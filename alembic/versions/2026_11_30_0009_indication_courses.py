"""indication courses: how long a treatment lasts for a condition

Schema: `indications.course` (JSON, db.catalog_file.CourseEntry: `kind` short | ongoing |
cycles | once, plain-language `text`, `source`), read by the option grid's "How often, and for
how long?" row. NULL means no source gives the duration; the grid then says it is not recorded.

Data: existing indications get no course (a curator adds them, or a catalog load brings them).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("indications") as batch_op:
        batch_op.add_column(sa.Column("course", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indications") as batch_op:
        batch_op.drop_column("course")
