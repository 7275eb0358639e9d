"""What a department's ``payments`` (or ``fee_payments``) operation is filled with: one payment the
provider confirmed.

The department is told "bill X was paid, provider transaction Y, amount Z, at T" and answers the bill
as it now stands — or "the fee of case X was paid ..." and answers the case. Every value is checked to
be plain (a bill number, a case reference, a transaction number, digits, an ISO time), so nothing from
a department's earlier answer or the provider can steer the request. A case reference may hold '/'
(``GH/2026/90001``), so ``fee_payments`` may carry it in its body or params only, never its path
(connectors/spec.py checks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CASE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,79}$")
#: what is paid → the spec operation that tells the department, and the placeholder naming it
OPERATIONS = {"BILL": "payments", "FEE": "fee_payments"}
SUBJECTS = {"BILL": "bill_id", "FEE": "case_id"}


@dataclass(frozen=True, slots=True)
class PaymentConfirmation:
    """A payment to report: the amount is the bill's (or the service's fee), the transaction the
    provider's. ``bill_id`` is the bill's number, or the case's reference when ``kind`` is FEE."""

    bill_id: str
    provider_txn: str
    amount_fen: int
    paid_at: datetime
    payment_id: str
    kind: str = "BILL"

    def __post_init__(self) -> None:
        if self.kind not in OPERATIONS:
            raise ValueError(f"kind: one of {', '.join(OPERATIONS)}")
        if not (PLAIN if self.kind == "BILL" else CASE_REF).match(self.bill_id):
            raise ValueError("bill_id: not a plain number")
        for name in ("provider_txn", "payment_id"):
            if not PLAIN.match(getattr(self, name)):
                raise ValueError(f"{name}: not a plain number")
        if self.amount_fen <= 0:
            raise ValueError("amount_fen: a payment is more than nothing")
        if self.paid_at.tzinfo is None:
            raise ValueError("paid_at: needs its offset")


def fill(confirmation: PaymentConfirmation) -> dict[str, str]:
    """The placeholders of a ``payments`` / ``fee_payments`` operation (plain values: nothing there
    needs escaping in a path, a query or a JSON string)."""
    return {
        SUBJECTS[confirmation.kind]: confirmation.bill_id,
        "provider_txn": confirmation.provider_txn,
        "amount_fen": str(confirmation.amount_fen),
        "paid_at": confirmation.paid_at.isoformat(),
        "payment_id": confirmation.payment_id,
    }
