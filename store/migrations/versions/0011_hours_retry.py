"""hours retry: who confirmed a volunteer's session, and when its report is tried again

The sweep re-sends PENDING reports on its own: it needs the staff member who confirmed (the access-log
row of a retried send names them), the tries so far, the time of the next one (the claim: ``UPDATE ...
WHERE hours_retry_at <= now``) and the last error, for staff.

Revision ID: 0011_hours_retry
Revises: 0010_fee_payments
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_hours_retry"
down_revision = "0010_fee_payments"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("activities", sa.Column("hours_confirmed_by", sa.String(64), nullable=True))
    op.add_column("activities", sa.Column("hours_confirmed_station", sa.String(80), nullable=True))
    op.add_column("activities", sa.Column("hours_confirmed_channel", sa.String(16), nullable=True))
    op.add_column("activities", sa.Column("hours_attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("activities", sa.Column("hours_retry_at", WHEN, nullable=True))
    op.add_column("activities", sa.Column("hours_last_error", sa.String(200), nullable=True))
    op.create_index("ix_activity_hours_due", "activities", ["hours_state", "hours_retry_at"])


def downgrade() -> None:
    op.drop_index("ix_activity_hours_due", table_name="activities")
    for column in (
        "hours_last_error",
        "hours_retry_at",
        "hours_attempts",
        "hours_confirmed_channel",
        "hours_confirmed_station",
        "hours_confirmed_by",
    ):
        op.drop_column("activities", column)
