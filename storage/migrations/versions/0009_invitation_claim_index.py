"""invitation claim index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 09:00:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The campaign sender claims a campaign's pending invitations in id order, batch by
    # batch; without this index every batch sorts the whole campaign.
    op.create_index("ix_invitations_claim", "invitations", ["campaign_id", "state", "id"])


def downgrade() -> None:
    op.drop_index("ix_invitations_claim", table_name="invitations")
