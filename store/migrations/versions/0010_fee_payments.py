"""fee payments: the ledger pays application fees too — what a row pays (kind) and the service applied for

A bill and a case's fee never share a live payment slot: the partial unique index now includes the kind.

Revision ID: 0010_fee_payments
Revises: 0007_payments
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_fee_payments"
down_revision = "0009_activities"
branch_labels = None
depends_on = None

LIVE = sa.text("state NOT IN ('FAILED', 'CLOSED')")


def upgrade() -> None:
    op.add_column("bill_payments", sa.Column("kind", sa.String(8), nullable=False, server_default="BILL"))
    op.add_column("bill_payments", sa.Column("service_id", sa.String(40), nullable=True))
    op.drop_index("uq_payment_live_bill", table_name="bill_payments")
    _live_index(["department", "kind", "bill_id"])


def downgrade() -> None:
    op.drop_index("uq_payment_live_bill", table_name="bill_payments")
    op.drop_column("bill_payments", "service_id")
    op.drop_column("bill_payments", "kind")
    _live_index(["department", "bill_id"])


def _live_index(columns: list[str]) -> None:
    op.create_index(
        "uq_payment_live_bill",
        "bill_payments",
        columns,
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
