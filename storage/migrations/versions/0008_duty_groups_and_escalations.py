"""duty groups and escalations: linked Telegram accounts, the duty outbox, reroute prompts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:02:11.406311
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("telegram_link_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("telegram_link_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint("uq_agency_users_telegram_user_id", ["telegram_user_id"])

    op.create_table(
        "duty_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=96), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["recipient_id"], ["agency_users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("duty_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_messages_agency"), ["agency"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_duty_messages_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_duty_messages_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_messages_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "duty_prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("post_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["agency_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "message_id"),
    )


def downgrade() -> None:
    op.drop_table("duty_prompts")
    with op.batch_alter_table("duty_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_messages_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_duty_messages_status"))
        batch_op.drop_index(batch_op.f("ix_duty_messages_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_duty_messages_agency"))
    op.drop_table("duty_messages")

    with op.batch_alter_table("agency_users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_agency_users_telegram_user_id", type_="unique")
        batch_op.drop_column("telegram_link_expires_at")
        batch_op.drop_column("telegram_link_hash")
        batch_op.drop_column("telegram_user_id")
