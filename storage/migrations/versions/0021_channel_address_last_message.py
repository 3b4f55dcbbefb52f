"""channel addresses: when the citizen last wrote from each (WeChat's 48-hour window)

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-05 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_addresses") as batch:
        batch.add_column(sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_addresses") as batch:
        batch.drop_column("last_message_at")
