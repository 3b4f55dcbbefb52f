"""the comment store of the public-opinion analysis

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(64), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("language", sa.String(5), nullable=True),
        sa.Column("assurance", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "source_id"),
    )
    for column in ("agency", "district", "month"):
        op.create_index(f"ix_comments_{column}", "comments", [column])
    op.create_table(
        "comment_codes",
        sa.Column(
            "comment_id",
            sa.Integer(),
            sa.ForeignKey("comments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
    )
    op.create_index("ix_comment_codes_code", "comment_codes", ["code"])


def downgrade() -> None:
    op.drop_table("comment_codes")
    op.drop_table("comments")
