"""activities: station activity sessions, residents' sign-ups and waiting lists, volunteer hours state

Revision ID: 0009_activities
Revises: 0007_payments
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_activities"
down_revision = "0007_payments"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
ACTIVE = sa.text("status IN ('SIGNED_UP', 'WAITING')")


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("station_id", sa.String(80), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("host_kind", sa.String(12), nullable=False),
        sa.Column("host_digest", sa.String(64), nullable=True),
        sa.Column("host_seal", sa.String(200), nullable=True),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("hours_state", sa.String(12), nullable=False),
        sa.Column("hours_report_key", sa.String(64), nullable=True),
        sa.Column("hours_tenths", sa.Integer(), nullable=True),
        sa.Column("hours_reported_at", WHEN, nullable=True),
        sa.CheckConstraint("taken >= 0 AND taken <= capacity", name="ck_activity_taken_within_capacity"),
    )
    op.create_index("ix_activity_station_start", "activities", ["station_id", "starts_at"])
    op.create_index("ix_activities_host_digest", "activities", ["host_digest"])
    op.create_table(
        "activity_signups",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("activity_id", sa.String(32), sa.ForeignKey("activities.id"), nullable=False),
        sa.Column("resident_digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("signed_by", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("promoted_at", WHEN, nullable=True),
        sa.Column("cancelled_at", WHEN, nullable=True),
    )
    op.create_index("ix_activity_signups_resident_digest", "activity_signups", ["resident_digest"])
    op.create_index(
        "ix_signup_activity_status_position", "activity_signups", ["activity_id", "status", "position"]
    )
    op.create_index(
        "uq_signup_activity_resident_active",
        "activity_signups",
        ["activity_id", "resident_digest"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_signup_activity_resident_active", table_name="activity_signups")
    op.drop_index("ix_signup_activity_status_position", table_name="activity_signups")
    op.drop_index("ix_activity_signups_resident_digest", table_name="activity_signups")
    op.drop_table("activity_signups")
    op.drop_index("ix_activities_host_digest", table_name="activities")
    op.drop_index("ix_activity_station_start", table_name="activities")
    op.drop_table("activities")
