"""access: assisted sessions (staff acting with a resident's consent) and the access log

Revision ID: 0002_access
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_access"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assisted_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("staff_digest", sa.String(64), nullable=False),
        sa.Column("station", sa.String(80), nullable=False),
        sa.Column("resident_digest", sa.String(64), nullable=False),
        sa.Column("resident_ref", sa.String(200), nullable=False),
        sa.Column("purposes", sa.String(400), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_assisted_sessions_lookup", "assisted_sessions", ["staff_digest", "resident_digest"])
    op.create_index("ix_assisted_sessions_resident_digest", "assisted_sessions", ["resident_digest"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_digest", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("station", sa.String(80), nullable=True),
        sa.Column("resident_digest", sa.String(64), nullable=False),
        sa.Column("data", sa.String(80), nullable=False),
        sa.Column("department", sa.String(40), nullable=True),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_access_log_resident_at", "access_log", ["resident_digest", "at"])


def downgrade() -> None:
    op.drop_index("ix_access_log_resident_at", table_name="access_log")
    op.drop_table("access_log")
    op.drop_index("ix_assisted_sessions_resident_digest", table_name="assisted_sessions")
    op.drop_index("ix_assisted_sessions_lookup", table_name="assisted_sessions")
    op.drop_table("assisted_sessions")
