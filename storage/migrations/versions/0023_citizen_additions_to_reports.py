"""citizen additions to reports: a photo the citizen adds on their report page

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The citizen's own photo on the event that records what they added (personal: erased
    # with them); the agency's photos stay in event_photos.
    with op.batch_alter_table("ticket_events") as batch:
        batch.add_column(sa.Column("photo", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_column("photo")
