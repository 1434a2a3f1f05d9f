"""clinical model v2: indication places, rules over several facts, HBV vocabulary, outcome figures

Schema: `indications.place` (JSON) and `.message`; `risk_rules.condition_expr` (JSON),
`.ask_if_unknown`, `.curator_note`, and a comparison that may be empty (a rule is one comparison
or a condition); `risk_factors.implies`, `.may_be`, `.check`; outcome figures as whole `events`
out of `per` people with a stable `key`, a `certainty` and a `curator_note`.

Data, so that an upgraded database still loads and scores (a curator reviews the defaults; each
default place carries a `curator_note` saying so):
- each rankable indication gets a place from its status: first-line, maintenance and add-on need
  nothing before them (the therapies a maintenance or add-on place names cannot be guessed);
  second-line, refractory-only, exceptional and investigational ones come after an inadequate
  response to, or intolerance of, a first-line option; excluded statuses have no place;
- `hbv_active` and `hbv_resolved` join the vocabulary when `hbv_positive` is in it, and
  `hbv_positive` implies `hbv_resolved` and may be `hbv_active` (check: `hbv_status`); a rule on
  `hbv_positive` becomes "any of hbv_positive, hbv_active, hbv_resolved", as before for each;
- each figure's key is `<therapy>-<condition>-<n>`; events are the per-100 figure rounded to a
  whole number, or per 1,000 when the figure is below 1 in 100; the measure gains the "had" the
  old sentence put before it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVIEW = "Set by migration 0004 from the status; review against the cited guideline."
AFTER_FIRST_LINE = {"second_line", "refractory_only", "exceptional", "investigational"}
EXCLUDED = {"not_recommended", "harmful", "no_role"}
HBV_FACTORS = {
    "hbv_active": (
        "Active hepatitis B (HBsAg positive)",
        "Hepatitis B surface antigen (HBsAg) positive: a current infection",
    ),
    "hbv_resolved": (
        "Past hepatitis B (HBsAg negative, anti-HBc positive)",
        "A past infection that may come back with some treatments",
    ),
}


def _sql(statement: str, *json_params: str) -> sa.TextClause:
    """A statement whose `json_params` are bound as JSON (both backends)."""
    return sa.text(statement).bindparams(
        *(sa.bindparam(name, type_=sa.JSON) for name in json_params)
    )


def _place(status: str) -> dict[str, Any] | None:
    if status in EXCLUDED:
        return None
    requires = "inadequate_first_line" if status in AFTER_FIRST_LINE else "none"
    return {"requires": requires, "curator_note": REVIEW}


def _events(per_100: float | None, per: int) -> int | None:
    if per_100 is None:
        return None
    return int(float(per_100) * per / 100 + 0.5)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("risk_factors") as batch_op:
        batch_op.add_column(sa.Column("implies", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("may_be", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("check_fact", sa.String(80), nullable=True))
    with op.batch_alter_table("risk_rules") as batch_op:
        batch_op.alter_column("attribute", existing_type=sa.String(40), nullable=True)
        batch_op.alter_column("operator", existing_type=sa.String(8), nullable=True)
        batch_op.alter_column("value", existing_type=sa.JSON(), nullable=True)
        batch_op.add_column(sa.Column("condition_expr", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("ask_if_unknown", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("curator_note", sa.Text(), nullable=True))
    with op.batch_alter_table("indications") as batch_op:
        batch_op.add_column(sa.Column("place", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=True))
    with op.batch_alter_table("outcome_figures") as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(80), nullable=True))
        batch_op.add_column(sa.Column("events", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("per", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("comparator_events", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("certainty", sa.String(10), nullable=True))
        batch_op.add_column(sa.Column("curator_note", sa.Text(), nullable=True))

    # Data: the vocabulary.
    bind.execute(
        _sql("UPDATE risk_factors SET implies = :implies, may_be = :may_be", "implies", "may_be"),
        {"implies": [], "may_be": []},
    )
    factors = {row[0] for row in bind.execute(sa.text("SELECT id FROM risk_factors"))}
    if "hbv_positive" in factors:
        for factor_id, (label, description) in HBV_FACTORS.items():
            if factor_id not in factors:
                bind.execute(
                    _sql(
                        "INSERT INTO risk_factors (id, label, description, codes, implies, may_be)"
                        " VALUES (:id, :label, :description, :codes, :implies, :may_be)",
                        "codes",
                        "implies",
                        "may_be",
                    ),
                    {
                        "id": factor_id,
                        "label": label,
                        "description": description,
                        "codes": [],
                        "implies": [],
                        "may_be": [],
                    },
                )
        bind.execute(
            _sql(
                "UPDATE risk_factors SET implies = :implies, may_be = :may_be, "
                "check_fact = :check WHERE id = :id",
                "implies",
                "may_be",
            ),
            {
                "implies": ["hbv_resolved"],
                "may_be": ["hbv_active"],
                "check": "hbv_status",
                "id": "hbv_positive",
            },
        )
        rules = bind.execute(
            sa.text("SELECT id, value FROM risk_rules WHERE attribute = 'risk_factor'").columns(
                sa.column("id", sa.String), sa.column("value", sa.JSON)
            )
        ).all()
        for rule_id, factor in rules:
            if factor != "hbv_positive":
                continue
            condition = {
                "any": [
                    {"attribute": "risk_factor", "operator": "has", "value": f}
                    for f in ("hbv_positive", "hbv_active", "hbv_resolved")
                ]
            }
            bind.execute(
                _sql(
                    "UPDATE risk_rules SET attribute = NULL, operator = NULL, value = NULL, "
                    "condition_expr = :condition, curator_note = :note WHERE id = :id",
                    "condition",
                ),
                {"condition": condition, "note": REVIEW, "id": rule_id},
            )

    # Data: places.
    for indication_id, status in bind.execute(sa.text("SELECT id, status FROM indications")).all():
        place = _place(status)
        bind.execute(
            _sql("UPDATE indications SET place = :place WHERE id = :id", "place"),
            {"place": place, "id": indication_id},
        )

    # Data: figures.
    figures = bind.execute(
        sa.text(
            "SELECT f.id, f.position, f.treated_per_100, f.comparator_per_100, i.therapy_id, "
            "i.condition_id FROM outcome_figures f JOIN indications i ON i.id = f.indication_id "
            "ORDER BY i.therapy_id, i.condition_id, f.position, f.id"
        )
    ).all()
    numbers: dict[tuple[str, str], int] = {}
    for figure_id, _position, treated, comparator, therapy_id, condition_id in figures:
        n = numbers.get((therapy_id, condition_id), 0) + 1
        numbers[(therapy_id, condition_id)] = n
        rare = 0 < float(treated) < 1 or (comparator is not None and 0 < float(comparator) < 1)
        per = 1000 if rare else 100
        bind.execute(
            sa.text(
                "UPDATE outcome_figures SET key = :key, events = :events, per = :per, "
                "comparator_events = :comparator WHERE id = :id"
            ),
            {
                "key": f"{therapy_id}-{condition_id}-{n}"[:80],
                "events": _events(treated, per),
                "per": per,
                "comparator": _events(comparator, per),
                "id": figure_id,
            },
        )

    # A figure's measure now completes "54 in 100 people ...": the old outcome was "had ...".
    bind.execute(sa.text("UPDATE outcome_figures SET outcome = 'had ' || outcome"))

    with op.batch_alter_table("risk_factors") as batch_op:
        batch_op.alter_column("implies", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("may_be", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("outcome_figures") as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(80), nullable=False)
        batch_op.alter_column("events", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("per", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_outcome_figures_key", ["key"])
        batch_op.drop_column("treated_per_100")
        batch_op.drop_column("comparator_per_100")


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE outcome_figures SET outcome = substr(outcome, 5) WHERE outcome LIKE 'had %'"
        )
    )
    with op.batch_alter_table("outcome_figures") as batch_op:
        batch_op.add_column(sa.Column("treated_per_100", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("comparator_per_100", sa.Float(), nullable=True))
    bind.execute(
        sa.text(
            "UPDATE outcome_figures SET treated_per_100 = events * 100.0 / per, "
            "comparator_per_100 = comparator_events * 100.0 / per"
        )
    )
    with op.batch_alter_table("outcome_figures") as batch_op:
        batch_op.alter_column("treated_per_100", existing_type=sa.Float(), nullable=False)
        batch_op.drop_constraint("uq_outcome_figures_key", type_="unique")
        for column in ("key", "events", "per", "comparator_events", "certainty", "curator_note"):
            batch_op.drop_column(column)
    # The old schema holds one comparison per rule: a condition over several facts cannot be
    # kept, so those rules go (the catalog file still has them; reload it after an upgrade).
    bind.execute(sa.text("DELETE FROM risk_rules WHERE attribute IS NULL"))
    with op.batch_alter_table("risk_rules") as batch_op:
        batch_op.drop_column("condition_expr")
        batch_op.drop_column("ask_if_unknown")
        batch_op.drop_column("curator_note")
        batch_op.alter_column("attribute", existing_type=sa.String(40), nullable=False)
        batch_op.alter_column("operator", existing_type=sa.String(8), nullable=False)
        batch_op.alter_column("value", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("indications") as batch_op:
        batch_op.drop_column("place")
        batch_op.drop_column("message")
    with op.batch_alter_table("risk_factors") as batch_op:
        batch_op.drop_column("implies")
        batch_op.drop_column("may_be")
        batch_op.drop_column("check_fact")
