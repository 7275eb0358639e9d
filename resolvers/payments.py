"""payBill and a resident's payments: the GraphQL side's only way to the payments service.

Thin: ``payments_of`` is the one place the service (``Services.payments``) is checked for; the rules
are in ``payments/service.py``.
"""

from __future__ import annotations

from access.policy import Acting
from payments.ledger import Payment
from payments.notify import PATH
from payments.service import PaymentError, Payments

MAX_PAGE = 100


def payments_of(service: Payments | None) -> Payments:
    """The app's payments service; PAYMENTS_UNAVAILABLE when this gateway has none (no merchant key)."""
    if service is None:
        raise PaymentError("PAYMENTS_UNAVAILABLE", "bills cannot be paid through this gateway just now")
    return service


def bill_number(bill_id: str) -> tuple[str, str]:
    """``<department>:<bill number>`` (``Bill.id``) split; BAD_USER_INPUT otherwise."""
    department, _, number = bill_id.partition(":")
    if not department or not number:
        raise PaymentError("BAD_USER_INPUT", "a Bill.id: <department>:<bill number>", argument="billId")
    return department, number


def notify_url(request: object | None) -> str | None:
    """Where the provider is to notify when ONESTOP_PAYMENT_NOTIFY_URL is not set: this gateway's
    notify endpoint as the client reached it (None without an HTTP request)."""
    base = getattr(request, "base_url", None)
    return None if base is None else str(base).rstrip("/") + PATH


async def pay_bill(
    service: Payments, acting: Acting, channel: str, bill_id: str, key: str, url: str | None
) -> Payment:
    department, number = bill_number(bill_id)
    return await service.pay(acting, channel, department, number, key, url)


async def resident_payments(service: Payments, acting: Acting, first: int) -> list[Payment]:
    if not 0 <= first <= MAX_PAGE:
        raise PaymentError("BAD_USER_INPUT", f"between 0 and {MAX_PAGE}", argument="first")
    return await service.ledger.of_resident(acting.resident_digest, first)
