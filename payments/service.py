"""Paying a bill end to end, exactly once: ledger row, provider order, signed confirmation, department.

``pay`` writes the ledger row first (the unique constraints decide which of racing requests pays),
then places the order under the row's id — the provider is idempotent on it, so an order placed twice
is charged once. Only the provider's word moves a payment to PAID: its signed notification
(``notified``) or its answer to a query (``advance``). The department is then told through its
connector (``confirm``); if it cannot be reached the payment waits as PAID_PENDING_DEPARTMENT and the
reconciler (``reconcile_once``, run by a supervised task on every process) tries again with a
doubling wait — the provider is never asked to charge again. The reconciler also asks the provider
about orders no notification settled (a lost notification) and closes orders left unpaid.

Time comes from an injected clock, so tests move it instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from access.policy import Acting
from connectors.errors import UpstreamError
from connectors.payments import PLAIN, PaymentConfirmation
from connectors.registry import Department, Registry
from domain.records import BillRecord
from observability.supervisor import stop, supervise
from payments.ledger import FINAL, TO_CONFIRM, Conflict, Ledger, Payment
from payments.provider import OrderState, ProviderClient, ProviderRefused, ProviderUnavailable
from store.payments import CLOSED, CONFIRMED, CREATED, FAILED, PAID_PENDING_DEPARTMENT, PaymentRow

log = logging.getLogger("onestop.payments")

Clock = Callable[[], datetime]
CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
#: after PAID, the process that saw it confirms at once; others leave it this long before trying
CONFIRM_GRACE_S = 5.0
FIRST_RETRY_S = 1.0
WAIT_POLL_S = (0.02, 0.2)


class PaymentError(Exception):
    """A typed refusal: ``extensions`` become the GraphQL error's."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": code, **details}


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long to wait for what (config.py's ``payment_*`` settings)."""

    wait_s: float = 3.0
    query_after_s: float = 10.0
    retry_max_s: float = 300.0
    order_expiry_s: float = 900.0
    notify_max_skew_s: float = 300.0
    poll_s: float = 5.0


def time_end(text: str, fallback: datetime) -> datetime:
    """The provider's ``yyyyMMddHHmmss`` (UTC in the mock; the provider's zone in real life)."""
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return fallback


class Payments:
    def __init__(
        self,
        ledger: Ledger,
        provider: ProviderClient,
        registry: Callable[[], Registry],
        timing: Timing = Timing(),
        clock: Clock = system_clock,
        notify_url: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.provider = provider
        self.registry = registry
        self.timing = timing
        self.clock = clock
        self.notify_url = notify_url
        self._changed: dict[str, set[asyncio.Event]] = {}  # payment id -> waiters in this process
        self._tasks: set[asyncio.Task[None]] = set()
        self._reconciler: asyncio.Task[None] | None = None

    # -- paying ----------------------------------------------------------------------------------

    async def pay(
        self,
        acting: Acting,
        channel: str,
        department_id: str,
        bill_id: str,
        key: str,
        request_url: str | None,
    ) -> Payment:
        """Pay ``bill_id`` of ``department_id`` (one of the acting resident's bills) once per
        (principal, ``key``).

        The amount is the department's bill's; nothing the client sends decides it. Raises
        ``PaymentError``: BAD_USER_INPUT, IDEMPOTENCY_KEY_REUSED, NOT_FOUND, BILL_ALREADY_PAID,
        PAYMENT_IN_PROGRESS, PAYMENT_FAILED, or the department's UPSTREAM_* while reading the bill.
        """
        url = self.notify_url or request_url
        if url is None:
            raise PaymentError(
                "PAYMENTS_UNAVAILABLE", "set ONESTOP_PAYMENT_NOTIFY_URL to pay over this transport"
            )
        if not CLIENT_KEY.match(key):
            raise PaymentError(
                "BAD_USER_INPUT", "8-64 letters, digits, '-' or '_'", argument="idempotencyKey"
            )
        known = await self.ledger.by_key(acting.actor_digest, key)
        if known is not None:
            return await self._retried(known, acting, bill_id, url)
        department, bill = await self._bill(acting, department_id, bill_id)
        now = self.clock()
        row = PaymentRow(
            id="OS" + secrets.token_hex(12),
            principal_digest=acting.actor_digest,
            idempotency_key=key,
            resident_digest=acting.resident_digest,
            department=department.id,
            bill_id=bill.id,
            utility=bill.utility,
            period=bill.period,
            amount_fen=bill.amount_fen,
            state=CREATED,
            session_id=acting.session_id,
            channel=channel,
            created_at=now,
            updated_at=now,
            attempts=0,
        )
        created = await self.ledger.create(row)
        if isinstance(created, Conflict):
            return await self._conflict(created, acting, bill_id, url)
        await self._place(created, url)
        return await self.settle(created.id)

    async def _retried(self, known: Payment, acting: Acting, bill_id: str, request_url: str) -> Payment:
        if known.bill_id != bill_id or known.resident_digest != acting.resident_digest:
            raise PaymentError(
                "IDEMPOTENCY_KEY_REUSED",
                "this key paid another bill; use a new key",
                argument="idempotencyKey",
            )
        if known.state == CREATED:
            await self.advance(known, request_url)
        return await self.settle(known.id)

    async def _conflict(self, conflict: Conflict, acting: Acting, bill_id: str, request_url: str) -> Payment:
        if conflict.reason == "key" and conflict.payment is not None:
            return await self._retried(conflict.payment, acting, bill_id, request_url)
        other = conflict.payment
        if other is not None and other.state == CONFIRMED:
            raise PaymentError("BILL_ALREADY_PAID", "this bill is paid", paymentId=other.id)
        raise PaymentError(
            "PAYMENT_IN_PROGRESS",
            "this bill is being paid (another key); see me { payments }",
            paymentId=None if other is None else other.id,
        )

    async def _bill(self, acting: Acting, department_id: str, bill_id: str) -> tuple[Department, BillRecord]:
        """The bill as its department states it, among the resident's own bills (the amount is its)."""
        department = self.registry().get(department_id)
        if department is None or not {"bills", "payments"} <= set(department.spec.operations):
            raise PaymentError(
                "NOT_FOUND", "no bill with this id among the resident's bills", argument="billId"
            )
        # read now, not from the cache: a bill paid at the counter a minute ago must not be charged again
        await department.adapter.forget("bills", acting.resident_digest)
        try:
            fetched = await department.adapter.run("bills", acting.resident_id)
        except UpstreamError as error:
            message = f"{error.department}: {error.message}"
            raise PaymentError(error.code.value, message, department=error.department) from error
        for bill in fetched.value.records:
            if bill.id == bill_id:
                if bill.paid:
                    raise PaymentError("BILL_ALREADY_PAID", "this bill is paid")
                return department, bill
        raise PaymentError("NOT_FOUND", "no bill with this id among the resident's bills", argument="billId")

    async def _place(self, payment: Payment, url: str) -> None:
        """Place the order (the provider notifies ``url``). Refused: FAILED (no money moved). No
        answer: left CREATED, asked about later."""
        description = f"{payment.department} {payment.utility} {payment.period}"
        try:
            await self.provider.create_order(payment.id, payment.amount_fen, url, description)
        except ProviderRefused as refused:
            await self.ledger.mark_ended(payment.id, FAILED, str(refused), self.clock())
            raise PaymentError(
                "PAYMENT_FAILED", f"the payment provider refused the order ({refused.code})"
            ) from refused
        except ProviderUnavailable as error:
            log.warning("payment %s: order not confirmed placed (%s); the reconciler asks", payment.id, error)

    async def settle(self, payment_id: str) -> Payment:
        """The payment once the provider and department settled it, or as it stands after ``wait_s``
        (a CREATED one then asked about once: its notification may be lost)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.timing.wait_s
        pause = WAIT_POLL_S[0]
        event = asyncio.Event()
        waiters = self._changed.setdefault(payment_id, set())
        waiters.add(event)
        try:
            while True:
                payment = await self.ledger.get(payment_id)
                assert payment is not None
                left = give_up - loop.time()
                if payment.state in (*FINAL, PAID_PENDING_DEPARTMENT) or left <= 0:
                    break
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(pause, left))
                pause = min(pause * 2, WAIT_POLL_S[1])
        finally:
            waiters.discard(event)
            if not waiters:
                self._changed.pop(payment_id, None)
        if payment.state == CREATED:
            await self.advance(payment)
            payment = await self.ledger.get(payment_id) or payment
        return payment

    def _wake(self, payment_id: str) -> None:
        """Waiters in this process look again at once (those elsewhere poll the ledger)."""
        for event in self._changed.get(payment_id, ()):
            event.set()

    # -- the provider's word ---------------------------------------------------------------------

    async def paid(self, payment: Payment, txn: str, total_fee: int, paid_at: datetime) -> bool:
        """The provider took ``total_fee`` for ``payment``: PAID, then the department is told.

        False (nothing changed) when the amount is not the bill's or the transaction already paid
        another payment — never believed, whoever signed it."""
        if not PLAIN.match(txn):
            log.error("payment %s: provider transaction number is not plain", payment.id)
            return False
        if total_fee != payment.amount_fen:
            log.error(
                "payment %s: provider says %d fen, the bill is %d", payment.id, total_fee, payment.amount_fen
            )
            return False
        now = self.clock()
        try:
            moved = await self.ledger.mark_paid(
                payment.id, txn, paid_at, now, now + timedelta(seconds=CONFIRM_GRACE_S)
            )
        except IntegrityError:
            log.error("payment %s: provider transaction %s already confirms another payment", payment.id, txn)
            return False
        if moved:
            self._spawn(self.confirm(payment.id))
        return True

    async def advance(self, payment: Payment, request_url: str | None = None) -> None:
        """Ask the provider about a CREATED order and act on the answer. With ``request_url`` (a
        client's retry) an order the provider never got is placed again under the same number."""
        try:
            state = await self.provider.query(payment.id)
        except (ProviderUnavailable, ProviderRefused) as error:
            log.warning("payment %s: provider not asked (%s)", payment.id, error)
            return
        await self._apply(payment, state, request_url)

    async def _apply(self, payment: Payment, state: OrderState, request_url: str | None) -> None:
        now = self.clock()
        age = (now - payment.created_at).total_seconds()
        if state.trade_state == "SUCCESS":
            await self.paid(payment, state.transaction_id, state.total_fee, time_end(state.time_end, now))
        elif state.trade_state in ("CLOSED", "REVOKED", "PAYERROR"):
            await self.ledger.mark_ended(payment.id, CLOSED, f"provider: {state.trade_state}", now)
        elif state.trade_state == "NOTEXIST" and request_url is not None:
            await self._place(payment, request_url)
        elif state.trade_state == "NOTEXIST" and age > self.timing.order_expiry_s:
            await self.ledger.mark_ended(payment.id, FAILED, "the order never reached the provider", now)
        elif state.trade_state == "NOTPAY" and age > self.timing.order_expiry_s:
            with contextlib.suppress(ProviderUnavailable, ProviderRefused):
                await self.provider.close(payment.id)
                await self.ledger.mark_ended(payment.id, CLOSED, "not paid in time", now)
        else:
            await self.ledger.touch(payment.id, now)
        self._wake(payment.id)

    # -- the department --------------------------------------------------------------------------

    async def confirm(self, payment_id: str) -> None:
        """Tell the department; CONFIRMED, or PAID_PENDING_DEPARTMENT with the next try scheduled."""
        payment = await self.ledger.get(payment_id)
        if payment is None or payment.state not in TO_CONFIRM or payment.provider_txn is None:
            return
        department = self.registry().get(payment.department)
        try:
            if department is None:
                raise LookupError(f"{payment.department} is not served now")
            assert payment.paid_at is not None
            confirmation = PaymentConfirmation(
                payment.bill_id, payment.provider_txn, payment.amount_fen, payment.paid_at, payment.id
            )
            await department.adapter.confirm_payment(confirmation)
        except (UpstreamError, LookupError) as error:
            wait = min(FIRST_RETRY_S * 2**payment.attempts, self.timing.retry_max_s)
            now = self.clock()
            await self.ledger.mark_pending(payment, str(error), now, now + timedelta(seconds=wait))
            log.warning("payment %s: department not told (%s); again in %.0fs", payment.id, error, wait)
        else:
            await self.ledger.mark_confirmed(payment.id, self.clock())
            await department.adapter.forget("bills", payment.resident_digest)  # the bill reads paid now
        self._wake(payment.id)

    # -- the reconciler --------------------------------------------------------------------------

    async def reconcile_once(self) -> int:
        """One round: ask about orders nothing settled, tell departments what they were not told.
        How many payments it looked at."""
        now = self.clock()
        await self.ledger.forget_nonces(now - timedelta(seconds=2 * self.timing.notify_max_skew_s))
        due = await self.ledger.due(now, now - timedelta(seconds=self.timing.query_after_s))
        for payment in due:
            if payment.state == CREATED:
                await self.advance(payment)
            else:
                await self.confirm(payment.id)
        return len(due)

    async def run(self) -> None:
        """The reconciler's loop, every ``timing.poll_s``."""
        while True:
            await self.reconcile_once()
            await asyncio.sleep(self.timing.poll_s)

    def start(self) -> None:
        """Run the reconciler on this process, supervised: restarted with backoff if a round fails."""
        if self._reconciler is None:
            self._reconciler = supervise("payments", self.run)

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        await stop(self._reconciler)
        self._reconciler = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.provider.aclose()
