"""payments: the ledger of bill payments and the provider notifications already seen

Revision ID: 0007_payments
Revises: 0006_access_log_chain
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_payments"
down_revision = "0006_access_log_chain"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
LIVE = sa.text("state NOT IN ('FAILED', 'CLOSED')")


def upgrade() -> None:
    op.create_table(
        "bill_payments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("principal_digest", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        sa.Column("resident_digest", sa.String(64), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("bill_id", sa.String(80), nullable=False),
        sa.Column("utility", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("provider_txn", sa.String(64), nullable=True),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("paid_at", WHEN, nullable=True),
        sa.Column("confirmed_at", WHEN, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.UniqueConstraint("principal_digest", "idempotency_key", name="uq_payment_principal_key"),
        sa.UniqueConstraint("provider_txn", name="uq_payment_provider_txn"),
    )
    op.create_index(
        "uq_payment_live_bill",
        "bill_payments",
        ["department", "bill_id"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_index("ix_payment_resident", "bill_payments", ["resident_digest", "created_at"])
    op.create_index("ix_payment_state", "bill_payments", ["state", "next_attempt_at"])
    op.create_table(
        "payment_notify_nonces",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("seen_at", WHEN, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payment_notify_nonces")
    op.drop_table("bill_payments")
