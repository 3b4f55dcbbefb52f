"""window rating scores fit the Hangzhou scale

A window rating's score held at most 16 characters, and "basically_satisfied" (基本满意)
has 19: PostgreSQL refused that rating.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("window_ratings") as batch:
        batch.alter_column("score", existing_type=sa.String(16), type_=sa.String(24))


def downgrade() -> None:
    with op.batch_alter_table("window_ratings") as batch:
        batch.alter_column("score", existing_type=sa.String(24), type_=sa.String(16))
