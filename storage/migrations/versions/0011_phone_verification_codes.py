"""phone verification codes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "citizen_id",
            sa.Integer(),
            sa.ForeignKey("citizens.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("phone_digest", sa.String(64), nullable=True),
        sa.Column("code_digest", sa.String(64), nullable=True),
        sa.Column("wrong_tries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
    )
    op.create_index("ix_phone_codes_citizen_id", "phone_codes", ["citizen_id"])
    op.create_index("ix_phone_codes_phone_digest", "phone_codes", ["phone_digest"])


def downgrade() -> None:
    op.drop_index("ix_phone_codes_phone_digest", table_name="phone_codes")
    op.drop_index("ix_phone_codes_citizen_id", table_name="phone_codes")
    op.drop_table("phone_codes")
