"""merge the two wave-2 branches: clinical model v2 (0004) and releases/decisions (0007)

Revision ID: 0008
Revises: 0004, 0007
Create Date: 2026-11-30 11:30:00

Both branched from 0003 in parallel; this revision only joins them so `upgrade head` has one
head. It changes no schema.
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = ("0004", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
