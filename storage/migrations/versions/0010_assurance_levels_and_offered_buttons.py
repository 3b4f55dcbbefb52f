"""assurance levels, offered buttons, signed window codes and held ratings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("citizens") as batch:
        batch.add_column(
            sa.Column("assurance", sa.String(16), nullable=False, server_default="anonymous")
        )
    # Citizens who reached us through a messaging account are at least "account".
    op.execute(
        "UPDATE citizens SET assurance = 'account' WHERE id IN "
        "(SELECT citizen_id FROM channel_addresses WHERE channel <> 'web')"
    )
    op.execute(
        "UPDATE citizens SET assurance = 'verified_phone' WHERE phone IS NOT NULL "
        "AND id IN (SELECT citizen_id FROM channel_addresses WHERE channel = 'telegram')"
    )
    op.create_table(
        "offered_buttons",
        sa.Column(
            "citizen_id",
            sa.Integer(),
            sa.ForeignKey("citizens.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("digest", sa.String(32), primary_key=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("service_windows") as batch:
        batch.add_column(
            sa.Column("token_serial", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("window_ratings") as batch:
        batch.add_column(
            sa.Column("assurance", sa.String(16), nullable=False, server_default="anonymous")
        )
        batch.add_column(sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("survey_responses") as batch:
        batch.add_column(
            sa.Column("assurance", sa.String(16), nullable=False, server_default="anonymous")
        )
    op.execute("UPDATE survey_responses SET assurance = 'invited' WHERE invitation_id IS NOT NULL")
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("satisfaction_assurance", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("satisfaction_assurance")
    with op.batch_alter_table("survey_responses") as batch:
        batch.drop_column("assurance")
    with op.batch_alter_table("window_ratings") as batch:
        batch.drop_column("held")
        batch.drop_column("assurance")
    with op.batch_alter_table("service_windows") as batch:
        batch.drop_column("token_serial")
    op.drop_table("offered_buttons")
    with op.batch_alter_table("citizens") as batch:
        batch.drop_column("assurance")
