"""SMS segments per campaign: how many texts a campaign sent and the segments they cost

Revision ID: 0022
Revises: 0024
Create Date: 2026-12-05 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        for name in ("sms_messages", "sms_segments"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("sms_segments")
        batch.drop_column("sms_messages")
