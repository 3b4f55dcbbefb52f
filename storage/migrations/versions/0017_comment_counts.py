"""comment counts: the trends' summary of the comment store, and the cells to rebuild

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _key(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), primary_key=True)


def upgrade() -> None:
    # One place's comments of a month, for rebuilding its counts; it serves the month alone too.
    op.drop_index("ix_comments_month", table_name="comments")
    op.create_index(
        "ix_comments_month_agency_district", "comments", ["month", "agency", "district"]
    )
    op.create_table(
        "comment_counts",
        _key("level", 8),
        _key("month", 7),
        _key("agency", 64),
        _key("district", 64),
        _key("source", 16),
        _key("category", 64),
        _key("assurance", 16),
        _key("code", 64),
        _key("counted", 16),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    cells = op.create_table(
        "comment_count_cells",
        _key("month", 7),
        _key("agency", 64),
        _key("district", 64),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("themes", sa.String(64), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
    )
    # The comments already stored are counted at the first refresh (civic.opinion).
    comments = sa.table(
        "comments",
        sa.column("month", sa.String(7)),
        sa.column("agency", sa.String(64)),
        sa.column("district", sa.String(64)),
    )
    none = sa.literal_column("''")
    stored = sa.select(
        comments.c.month,
        sa.func.coalesce(comments.c.agency, none),
        sa.func.coalesce(comments.c.district, none),
        sa.true(),
        none,
    ).distinct()
    op.execute(
        cells.insert().from_select(["month", "agency", "district", "dirty", "themes"], stored)
    )


def downgrade() -> None:
    op.drop_table("comment_count_cells")
    op.drop_table("comment_counts")
    op.drop_index("ix_comments_month_agency_district", table_name="comments")
    op.create_index("ix_comments_month", "comments", ["month"])
