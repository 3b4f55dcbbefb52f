"""evaluation: entered figures, their audit log, frozen snapshots

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _approval() -> list[sa.Column]:
    return [
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "indicator_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *_approval(),
        sa.UniqueConstraint("agency", "indicator", "period"),
    )
    op.create_index("ix_indicator_entries_agency", "indicator_entries", ["agency"])
    op.create_index("ix_indicator_entries_period", "indicator_entries", ["period"])

    op.create_table(
        "evaluation_adjustments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item", sa.String(64), nullable=True),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        *_approval(),
        sa.Column("withdrawn_by", sa.String(64), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_evaluation_adjustments_agency", "evaluation_adjustments", ["agency"])
    op.create_index("ix_evaluation_adjustments_year", "evaluation_adjustments", ["year"])

    op.create_table(
        "evaluation_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_index("ix_evaluation_audit_at", "evaluation_audit", ["at"])
    op.create_index("ix_evaluation_audit_agency", "evaluation_audit", ["agency"])

    op.create_table(
        "evaluation_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("scheme_digest", sa.String(64), nullable=False),
        sa.Column("inputs_digest", sa.String(64), nullable=False),
        sa.Column("results_digest", sa.String(64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.UniqueConstraint("year", "version"),
    )
    op.create_index("ix_evaluation_snapshots_year", "evaluation_snapshots", ["year"])


def downgrade() -> None:
    for table in (
        "evaluation_snapshots",
        "evaluation_audit",
        "evaluation_adjustments",
        "indicator_entries",
    ):
        op.drop_table(table)
