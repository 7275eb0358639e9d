"""What a department's ``payments`` operation is filled with: one payment the provider confirmed.

The department is told "bill X was paid, provider transaction Y, amount Z, at T" and answers the bill
as it now stands. Every value is checked to be plain (a bill number, a transaction number, digits, an
ISO time), so nothing from a department's earlier answer or the provider can steer the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class PaymentConfirmation:
    """A payment to report: the amount is the bill's, the transaction the provider's."""

    bill_id: str
    provider_txn: str
    amount_fen: int
    paid_at: datetime
    payment_id: str

    def __post_init__(self) -> None:
        for name in ("bill_id", "provider_txn", "payment_id"):
            if not PLAIN.match(getattr(self, name)):
                raise ValueError(f"{name}: not a plain number")
        if self.amount_fen <= 0:
            raise ValueError("amount_fen: a payment is more than nothing")
        if self.paid_at.tzinfo is None:
            raise ValueError("paid_at: needs its offset")


def fill(confirmation: PaymentConfirmation) -> dict[str, str]:
    """The placeholders of a ``payments`` operation (plain values: nothing there needs escaping)."""
    return {
        "bill_id": confirmation.bill_id,
        "provider_txn": confirmation.provider_txn,
        "amount_fen": str(confirmation.amount_fen),
        "paid_at": confirmation.paid_at.isoformat(),
        "payment_id": confirmation.payment_id,
    }
