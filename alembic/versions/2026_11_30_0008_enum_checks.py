"""enum columns: a CHECK constraint on every column that holds one of a fixed set of words

A value outside the set (a hand-written UPDATE, a faulty migration) can no longer enter: before
this, one bad `indications.status` turned every score into an error until someone found it.
The words are frozen here as they are at this revision (the models derive theirs from the
engine's enums; `tests/db/test_migrations.py` checks the two agree). An existing row with a word
outside its set stops the upgrade with a message naming the rows, and changes nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, constraint name, the words)
CHECKS: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "sources",
        "kind",
        "ck_sources_kind",
        (
            "guideline",
            "label",
            "trial",
            "review",
            "registry",
            "cost_study",
            "agency",
            "article",
            "other",
        ),
    ),
    ("adverse_effects", "timing", "ck_adverse_effects_timing", ("immediate", "delayed", "any")),
    (
        "risk_rules",
        "attribute",
        "ck_risk_rules_attribute",
        (
            "age_years",
            "weight_kg",
            "egfr",
            "pregnant",
            "risk_factor",
            "platelet_count",
            "igg_trough",
            "phase",
            "antibody_status",
        ),
    ),
    (
        "risk_rules",
        "operator",
        "ck_risk_rules_operator",
        ("lt", "le", "gt", "ge", "eq", "has", "in"),
    ),
    ("risk_rules", "severity", "ck_risk_rules_severity", ("absolute", "relative")),
    (
        "costs",
        "basis",
        "ck_costs_basis",
        ("per_year", "per_month", "per_session", "per_course", "one_off", "per_gram", "per_mg"),
    ),
    (
        "availability",
        "status",
        "ck_availability_status",
        ("available", "constrained", "shortage", "unavailable"),
    ),
    (
        "indications",
        "status",
        "ck_indications_status",
        (
            "first_line",
            "second_line",
            "maintenance",
            "refractory_only",
            "adjunct",
            "exceptional",
            "investigational",
            "not_recommended",
            "harmful",
            "no_role",
        ),
    ),
    (
        "indications",
        "certainty",
        "ck_indications_certainty",
        ("high", "moderate", "low", "very_low"),
    ),
    (
        "outcome_figures",
        "certainty",
        "ck_outcome_figures_certainty",
        ("high", "moderate", "low", "very_low"),
    ),
]


def _condition(column: str, words: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{word}'" for word in words)
    return f"{column} IN ({quoted})"


def upgrade() -> None:
    connection = op.get_bind()
    bad: list[str] = []
    for table, column, _name, words in CHECKS:
        rows = connection.execute(
            sa.text(
                f"SELECT DISTINCT {column} FROM {table} "
                f"WHERE {column} IS NOT NULL AND NOT ({_condition(column, words)})"
            )
        ).scalars()
        bad.extend(f"{table}.{column} = {value!r}" for value in rows)
    if bad:
        raise RuntimeError(
            "Values outside their vocabulary; correct them, then upgrade again: " + "; ".join(bad)
        )
    for table, column, name, words in CHECKS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_check_constraint(op.f(name), _condition(column, words))


def downgrade() -> None:
    for table, _column, name, _words in reversed(CHECKS):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(op.f(name), type_="check")
