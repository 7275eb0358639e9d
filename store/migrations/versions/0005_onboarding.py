"""onboarding: a status for each connector version (draft, active, inactive, disabled) and an audit trail

Revision ID: 0005_onboarding
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_onboarding"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connector_registrations") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="inactive"))
    op.execute("UPDATE connector_registrations SET status = 'active' WHERE active")
    op.create_table(
        "connector_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_connector_audit_department_at", "connector_audit", ["department", "at"])


def downgrade() -> None:
    op.drop_index("ix_connector_audit_department_at", table_name="connector_audit")
    op.drop_table("connector_audit")
    with op.batch_alter_table("connector_registrations") as batch:
        batch.drop_column("status")
