"""deferred releases: a curator write records its release after it answers

Schema: `catalog_versions.pending_release` (JSON, a list of [kind, entity_id] pairs): the catalog
entities an API write changed, kept until its release is recorded just after the response
(decision 0015). NULL means the version's release is recorded (or was never deferred). Only the
latest version can hold one: every writer records a pending release before changing anything.

Data: none; existing versions were recorded in their own write.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_versions") as batch_op:
        batch_op.add_column(sa.Column("pending_release", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    # Code before 0010 reads every version in the recorded span as recorded: a release still
    # waiting would be lost with its column. Any catalog write, or `tada serve`, records it.
    waiting = op.get_bind().execute(
        sa.text("SELECT version FROM catalog_versions WHERE pending_release IS NOT NULL")
    )
    versions = [row[0] for row in waiting]
    if versions:
        raise RuntimeError(
            f"catalog version {versions[0]}'s release is still to be recorded: start the "
            "service once (`tada serve`) or make a catalog write, then downgrade"
        )
    with op.batch_alter_table("catalog_versions") as batch_op:
        batch_op.drop_column("pending_release")
