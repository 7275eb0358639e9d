"""``payBill``, ``payApplicationFee`` and the ``Payment`` receipt: paying a utility bill, or the fee
of a fee-bearing application, through the payment provider.

Thin: the rules are in ``payments/service.py`` (reached through ``resolvers.payments``). There is no
amount argument — the amount is always the department's (the bill's; the service's fee). Who may
pay for whom is the access policy's (PAYMENTS: the resident, or staff in an assisted session the
resident consented to); every payment is written to the resident's access log.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from access.policy import Purpose
from payments.ledger import Payment as LedgerPayment
from resolvers import payments as logic
from schema.context import Info


@strawberry.enum(description="缴费状态 / Where a payment is.")
class PaymentState(Enum):
    CREATED = strawberry.enum_value(
        "CREATED", description="待支付 / Order placed; the provider has not confirmed the money"
    )
    PAID = strawberry.enum_value(
        "PAID", description="已付款 / The provider took the money; the department is being told"
    )
    PAID_PENDING_DEPARTMENT = strawberry.enum_value(
        "PAID_PENDING_DEPARTMENT",
        description="已付款待销账 / Paid; the department could not be told yet and is told again until "
        "it confirms (never charged twice)",
    )
    CONFIRMED = strawberry.enum_value(
        "CONFIRMED", description="已销账 / The department recorded it: the bill is paid"
    )
    FAILED = strawberry.enum_value(
        "FAILED", description="失败 / The provider refused the order; nothing was taken"
    )
    CLOSED = strawberry.enum_value("CLOSED", description="已关闭 / The order was never paid and is closed")


@strawberry.enum(description="缴费项目 / What a payment pays.")
class PaymentKind(Enum):
    BILL = strawberry.enum_value("BILL", description="账单 / A utility bill (`billId`)")
    FEE = strawberry.enum_value(
        "FEE", description="办件收费 / The fee of an application (`caseId`, `serviceId`)"
    )


@strawberry.type(description="缴费记录 / One payment of one bill or one application's fee: the receipt.")
class Payment:
    id: strawberry.ID = strawberry.field(
        description="The payment's number (the provider's merchant order number)"
    )
    kind: PaymentKind = strawberry.field(description="缴费项目 / A bill or an application's fee")
    bill_id: strawberry.ID | None = strawberry.field(description="The bill paid: its `Bill.id` (BILL only)")
    case_id: strawberry.ID | None = strawberry.field(
        description="The case whose fee was paid: its `Case.id` (FEE only)"
    )
    service_id: strawberry.ID | None = strawberry.field(
        description="The service applied for, whose fee was paid: its `Service.id` (FEE only)"
    )
    department_id: strawberry.ID = strawberry.field(
        description="The department that issued the bill or took the application"
    )
    utility: str | None = strawberry.field(description="WATER, POWER or GAS (BILL only)")
    period: str | None = strawberry.field(description="the month billed, e.g. 2026-10 (BILL only)")
    amount_fen: int = strawberry.field(
        description="金额 / The bill's amount, or the service's fee, in fen (1/100 yuan)"
    )
    state: PaymentState = strawberry.field(description="缴费状态 / Where the payment is")
    provider_transaction_id: str | None = strawberry.field(
        description="支付流水号 / The provider's transaction number, once it took the money"
    )
    created_at: datetime = strawberry.field(description="When the payment was started")
    paid_at: datetime | None = strawberry.field(description="付款时间 / When the provider took the money")
    confirmed_at: datetime | None = strawberry.field(description="销账时间 / When the department recorded it")

    @classmethod
    def from_ledger(cls, payment: LedgerPayment) -> Payment:
        subject = strawberry.ID(f"{payment.department}:{payment.bill_id}")
        bill = payment.kind == "BILL"
        return cls(
            id=strawberry.ID(payment.id),
            kind=PaymentKind(payment.kind),
            bill_id=subject if bill else None,
            case_id=None if bill else subject,
            service_id=None if payment.service_id is None else strawberry.ID(payment.service_id),
            department_id=strawberry.ID(payment.department),
            utility=payment.utility if bill else None,
            period=payment.period if bill else None,
            amount_fen=payment.amount_fen,
            state=PaymentState(payment.state),
            provider_transaction_id=payment.provider_txn,
            created_at=payment.created_at,
            paid_at=payment.paid_at,
            confirmed_at=payment.confirmed_at,
        )


IdempotencyKey = Annotated[
    str,
    strawberry.argument(description="8-64 letters, digits, '-' or '_', new for each payment (a UUID)"),
]
ForResident = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="staff in an assisted session (purpose PAYMENTS): the `Resident.id`"),
]


async def _pay(
    info: Info, resident_id: strawberry.ID | None, kind: str, subject_id: str, key: str
) -> Payment:
    """Who acts (PAYMENTS), the payment, its access-log row: the same for a bill and a fee."""
    context = info.context
    acting = await context.acting_for(resident_id, Purpose.PAYMENTS)
    service = logic.payments_of(context.services.payments)
    url = logic.notify_url(context.request)
    payment = await logic.pay(service, acting, context.channel.value, kind, subject_id, key, url)
    await context.record_access(acting, "payments", payment.department)
    return Payment.from_ledger(payment)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="缴费 / Pay one of the resident's bills, once per idempotencyKey (retry freely): "
        "the amount is the department's bill's. Answers when the department confirmed, or as the "
        "payment stands after a few seconds (CREATED, PAID_PENDING_DEPARTMENT: see `me { payments }`). "
        "NOT_FOUND, BILL_ALREADY_PAID, PAYMENT_IN_PROGRESS, IDEMPOTENCY_KEY_REUSED, PAYMENT_FAILED, "
        "PAYMENTS_UNAVAILABLE."
    )
    async def pay_bill(
        self,
        info: Info,
        bill_id: Annotated[strawberry.ID, strawberry.argument(description="the bill's `Bill.id`")],
        idempotency_key: IdempotencyKey,
        resident_id: ForResident = None,
    ) -> Payment:
        return await _pay(info, resident_id, "BILL", str(bill_id), idempotency_key)

    @strawberry.mutation(
        description="缴纳办件费用 / Pay the fee of one of the resident's applications once it is a case, "
        "once per idempotencyKey (retry freely): the amount is the fee of the case's service as the "
        "department's catalogue states it. Answers like payBill. NOT_FOUND, NO_FEE_DUE (a free "
        "service), CASE_CLOSED, FEE_ALREADY_PAID, PAYMENT_IN_PROGRESS, IDEMPOTENCY_KEY_REUSED, "
        "PAYMENT_FAILED, PAYMENTS_UNAVAILABLE."
    )
    async def pay_application_fee(
        self,
        info: Info,
        case_id: Annotated[strawberry.ID, strawberry.argument(description="the case's `Case.id`")],
        idempotency_key: IdempotencyKey,
        resident_id: ForResident = None,
    ) -> Payment:
        return await _pay(info, resident_id, "FEE", str(case_id), idempotency_key)
