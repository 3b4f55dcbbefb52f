"""coding by coder, double-coding samples, topics, and improvement notices

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 08:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user(name: str) -> sa.Column:
    return sa.Column(
        name, sa.Integer(), sa.ForeignKey("agency_users.id", ondelete="SET NULL"), nullable=True
    )


def upgrade() -> None:
    op.create_table(
        "comment_codings",
        sa.Column(
            "comment_id",
            sa.Integer(),
            sa.ForeignKey("comments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "coder_id",
            sa.Integer(),
            sa.ForeignKey("agency_users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("codes", sa.String(512), nullable=False),
        _at("coded_at", nullable=False),
    )
    op.create_index("ix_comment_codings_coder_id", "comment_codings", ["coder_id"])
    op.create_table(
        "coding_samples",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("drawn_from", sa.Text(), nullable=False),
        _user("created_by"),
        _at("created_at", nullable=False),
    )
    op.create_table(
        "coding_sample_items",
        sa.Column(
            "sample_id",
            sa.Integer(),
            sa.ForeignKey("coding_samples.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "comment_id",
            sa.Integer(),
            sa.ForeignKey("comments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_coding_sample_items_comment_id", "coding_sample_items", ["comment_id"])
    op.create_table(
        "topic_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _at("created_at", nullable=False),
        _user("created_by"),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("topic_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label_zh", sa.String(128), nullable=True),
        sa.Column("label_en", sa.String(128), nullable=True),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Text(), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column(
            "merged_into_id",
            sa.Integer(),
            sa.ForeignKey("topics.id", ondelete="SET NULL"),
            nullable=True,
        ),
        _at("created_at", nullable=False),
    )
    op.create_index("ix_topics_run_id", "topics", ["run_id"])
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_comments_topic_id", "topics", ["topic_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_comments_topic_id", ["topic_id"])

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("problem_zh", sa.Text(), nullable=False),
        sa.Column("problem_en", sa.Text(), nullable=False),
        sa.Column("commitment_zh", sa.Text(), nullable=False),
        sa.Column("commitment_en", sa.Text(), nullable=False),
        sa.Column("response_due", sa.Date(), nullable=True),
        _at("proposed_at", nullable=False),
        _at("issued_at"),
        _at("committed_at"),
        _at("rectified_at"),
        _at("verified_at"),
        _at("escalated_at"),
        sa.UniqueConstraint("rule", "agency", "subject", "period"),
    )
    op.create_index("ix_notices_agency", "notices", ["agency"])
    op.create_index("ix_notices_status", "notices", ["status"])
    op.create_table(
        "notice_milestones",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "notice_id",
            sa.Integer(),
            sa.ForeignKey("notices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        _at("done_at"),
        _at("escalated_at"),
    )
    op.create_index("ix_notice_milestones_notice_id", "notice_milestones", ["notice_id"])
    op.create_table(
        "notice_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "notice_id",
            sa.Integer(),
            sa.ForeignKey("notices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _at("at", nullable=False),
        _user("user_id"),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("note_zh", sa.Text(), nullable=False),
        sa.Column("note_en", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_notice_events_notice_id", "notice_events", ["notice_id"])
    op.create_table(
        "notice_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "notice_id",
            sa.Integer(),
            sa.ForeignKey("notices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "citizen_id",
            sa.Integer(),
            sa.ForeignKey("citizens.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "comment_id",
            sa.Integer(),
            sa.ForeignKey("comments.id", ondelete="SET NULL"),
            nullable=True,
        ),
        _at("linked_at", nullable=False),
        sa.Column("committed_answer", sa.String(16), nullable=True),
        _at("committed_answered_at"),
        sa.Column("verified_answer", sa.String(16), nullable=True),
        _at("verified_answered_at"),
        sa.UniqueConstraint("notice_id", "citizen_id"),
    )
    op.create_index("ix_notice_links_notice_id", "notice_links", ["notice_id"])
    op.create_index("ix_notice_links_citizen_id", "notice_links", ["citizen_id"])
    # A late notice is escalated through the agencies' duty outbox, which so far only
    # carried tickets.
    with op.batch_alter_table("duty_messages") as batch:
        batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("notice_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_duty_messages_notice_id", "notices", ["notice_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_duty_messages_notice_id", ["notice_id"])


def downgrade() -> None:
    op.execute("DELETE FROM duty_messages WHERE notice_id IS NOT NULL")
    with op.batch_alter_table("duty_messages") as batch:
        batch.drop_index("ix_duty_messages_notice_id")
        batch.drop_constraint("fk_duty_messages_notice_id", type_="foreignkey")
        batch.drop_column("notice_id")
        batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
    for table in ("notice_links", "notice_events", "notice_milestones", "notices"):
        op.drop_table(table)
    with op.batch_alter_table("comments") as batch:
        batch.drop_index("ix_comments_topic_id")
        batch.drop_constraint("fk_comments_topic_id", type_="foreignkey")
        batch.drop_column("topic_id")
    for table in ("topics", "topic_runs", "coding_sample_items", "coding_samples"):
        op.drop_table(table)
    op.drop_table("comment_codings")
