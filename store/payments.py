"""The payment ledger: one row per payment of a bill, and the provider notifications already seen.

A row is the gateway's memory of money moving. Its id is the merchant order number the provider
knows (``out_trade_no``), so the provider can never charge for it twice; (principal, client key) is
unique, so a retried ``payBill`` finds the same row; a bill has at most one *live* payment (a partial
unique index over the states that are not FAILED or CLOSED), so two keys cannot pay one bill twice;
the provider's transaction number is unique, so one charge confirms one payment. Nothing personal:
residents and principals are digests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from store.appointments import UtcDateTime
from store.models import Base

#: order placed (or being placed) at the provider; no money seen yet
CREATED = "CREATED"
#: the provider confirmed the money (signed notification or query); the department not told yet
PAID = "PAID"
#: the provider took the money but the department did not confirm: retried until it does
PAID_PENDING_DEPARTMENT = "PAID_PENDING_DEPARTMENT"
#: the department recorded the payment: the bill reads as paid
CONFIRMED = "CONFIRMED"
#: the provider refused the order (no money taken)
FAILED = "FAILED"
#: the order was never paid and is closed at the provider
CLOSED = "CLOSED"
STATES = (CREATED, PAID, PAID_PENDING_DEPARTMENT, CONFIRMED, FAILED, CLOSED)
LIVE = text("state NOT IN ('FAILED', 'CLOSED')")


class PaymentRow(Base):
    __tablename__ = "bill_payments"
    __table_args__ = (
        UniqueConstraint("principal_digest", "idempotency_key", name="uq_payment_principal_key"),
        UniqueConstraint("provider_txn", name="uq_payment_provider_txn"),
        Index(
            "uq_payment_live_bill",
            "department",
            "bill_id",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index("ix_payment_resident", "resident_digest", "created_at"),
        Index("ix_payment_state", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the provider's out_trade_no
    principal_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(80), nullable=False)
    resident_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    department: Mapped[str] = mapped_column(String(40), nullable=False)
    bill_id: Mapped[str] = mapped_column(String(80), nullable=False)
    utility: Mapped[str] = mapped_column(String(16), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_fen: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(24), nullable=False)
    provider_txn: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class NotifyNonceRow(Base):
    """A provider notification's nonce, kept while its timestamp is fresh: a second one is a replay."""

    __tablename__ = "payment_notify_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
