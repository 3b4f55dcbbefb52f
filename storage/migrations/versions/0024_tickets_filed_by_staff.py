"""tickets filed by staff: the desk user who filed a ticket for a caller (the hotline)

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-05 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("filed_by_user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_tickets_filed_by_user_id",
            "agency_users",
            ["filed_by_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_tickets_filed_by_user_id", ["filed_by_user_id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_filed_by_user_id")
        batch.drop_constraint("fk_tickets_filed_by_user_id", type_="foreignkey")
        batch.drop_column("filed_by_user_id")
