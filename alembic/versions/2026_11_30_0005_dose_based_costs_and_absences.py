"""dose-based costs and cited absences

Schema: `indications.dose_per_kg` (grams or mg each session per kg of body weight, read with a
per-gram or per-mg price so that the annual cost follows the patient's weight) and
`therapies.absences` (JSON: facts no public source gives, with the sources searched, which the
catalog check accepts in place of the fact). Cost bases `per_gram` and `per_mg` need no schema
change (`costs.basis` is a string).

Data: existing therapies get no absences; no indication gets a dose (a curator adds them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("indications") as batch_op:
        batch_op.add_column(sa.Column("dose_per_kg", sa.Float(), nullable=True))
    with op.batch_alter_table("therapies") as batch_op:
        batch_op.add_column(sa.Column("absences", sa.JSON(), nullable=True))
    op.get_bind().execute(
        sa.text("UPDATE therapies SET absences = :none").bindparams(
            sa.bindparam("none", type_=sa.JSON)
        ),
        {"none": []},
    )
    with op.batch_alter_table("therapies") as batch_op:
        batch_op.alter_column("absences", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    # Weight-based prices cannot be annualised without a dose; the old engine would misread
    # them, so they are removed with the dose.
    op.execute(sa.text("DELETE FROM costs WHERE basis IN ('per_gram', 'per_mg')"))
    with op.batch_alter_table("therapies") as batch_op:
        batch_op.drop_column("absences")
    with op.batch_alter_table("indications") as batch_op:
        batch_op.drop_column("dose_per_kg")
