"""The ledger's operations: every state change is one conditional UPDATE, so racing processes agree.

A payment moves CREATED → PAID → CONFIRMED (or PAID → PAID_PENDING_DEPARTMENT → … → CONFIRMED, or
CREATED → FAILED / CLOSED); each step names the states it may start from, and only the request whose
UPDATE touched the row made the step. The unique constraints of ``store.payments`` do the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.db import rowcount
from store.payments import (
    CLOSED,
    CONFIRMED,
    CREATED,
    FAILED,
    PAID,
    PAID_PENDING_DEPARTMENT,
    NotifyNonceRow,
    PaymentRow,
)

#: states in which the provider has the money and the department must (still) be told
TO_CONFIRM = (PAID, PAID_PENDING_DEPARTMENT)
#: states a payment never leaves
FINAL = (CONFIRMED, FAILED, CLOSED)


@dataclass(frozen=True, slots=True)
class Payment:
    """One ledger row, without anything personal."""

    id: str
    principal_digest: str
    idempotency_key: str
    resident_digest: str
    department: str
    bill_id: str
    utility: str
    period: str
    amount_fen: int
    state: str
    provider_txn: str | None
    session_id: str | None
    channel: str
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    confirmed_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, row: PaymentRow) -> Payment:
        return cls(**{name: getattr(row, name) for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why a new payment was not written: the key is taken (``payment`` is its payment) or the bill
    already has a live payment under another key (``payment`` is that one, when it could be read)."""

    reason: Literal["key", "bill"]
    payment: Payment | None


class Ledger:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def create(self, row: PaymentRow) -> Payment | Conflict:
        try:
            async with self.sessions.begin() as session:
                session.add(row)
                await session.flush()
                return Payment.of(row)
        except IntegrityError:
            pass
        same_key = await self.by_key(row.principal_digest, row.idempotency_key)
        if same_key is not None:
            return Conflict("key", same_key)
        return Conflict("bill", await self.live_for_bill(row.department, row.bill_id))

    async def get(self, payment_id: str) -> Payment | None:
        async with self.sessions() as session:
            row = await session.get(PaymentRow, payment_id)
            return None if row is None else Payment.of(row)

    async def by_key(self, principal_digest: str, key: str) -> Payment | None:
        query = select(PaymentRow).where(
            PaymentRow.principal_digest == principal_digest, PaymentRow.idempotency_key == key
        )
        return await self._one(query)

    async def live_for_bill(self, department: str, bill_id: str) -> Payment | None:
        query = select(PaymentRow).where(
            PaymentRow.department == department,
            PaymentRow.bill_id == bill_id,
            PaymentRow.state.not_in((FAILED, CLOSED)),
        )
        return await self._one(query)

    async def of_resident(self, resident_digest: str, limit: int) -> list[Payment]:
        query = (
            select(PaymentRow)
            .where(PaymentRow.resident_digest == resident_digest)
            .order_by(PaymentRow.created_at.desc(), PaymentRow.id)
            .limit(limit)
        )
        async with self.sessions() as session:
            return [Payment.of(r) for r in await session.scalars(query)]

    async def due(self, now: datetime, quiet_since: datetime, limit: int = 100) -> list[Payment]:
        """Orders nothing has settled or asked about since ``quiet_since`` (``touch`` marks an order
        asked about), and payments whose department confirmation is due."""
        query = (
            select(PaymentRow)
            .where(
                or_(
                    (PaymentRow.state == CREATED) & (PaymentRow.updated_at <= quiet_since),
                    PaymentRow.state.in_(TO_CONFIRM)
                    & (PaymentRow.next_attempt_at.is_(None) | (PaymentRow.next_attempt_at <= now)),
                )
            )
            .order_by(PaymentRow.updated_at)
            .limit(limit)
        )
        async with self.sessions() as session:
            return [Payment.of(r) for r in await session.scalars(query)]

    async def mark_paid(
        self, payment_id: str, txn: str, paid_at: datetime, now: datetime, confirm_at: datetime
    ) -> bool:
        """CREATED → PAID with the provider's transaction (unique: one charge confirms one payment)."""
        values = {"state": PAID, "provider_txn": txn, "paid_at": paid_at, "updated_at": now}
        return await self._step(payment_id, (CREATED,), values | {"next_attempt_at": confirm_at})

    async def mark_confirmed(self, payment_id: str, now: datetime) -> bool:
        values = {"state": CONFIRMED, "confirmed_at": now, "updated_at": now, "next_attempt_at": None}
        return await self._step(payment_id, TO_CONFIRM, values | {"last_error": None})

    async def mark_pending(self, payment: Payment, error: str, now: datetime, retry_at: datetime) -> bool:
        values = {"state": PAID_PENDING_DEPARTMENT, "updated_at": now, "next_attempt_at": retry_at}
        values |= {"attempts": payment.attempts + 1, "last_error": error[:200]}
        return await self._step(payment.id, TO_CONFIRM, values)

    async def mark_ended(self, payment_id: str, state: str, error: str, now: datetime) -> bool:
        """CREATED → FAILED or CLOSED: no money was taken, and the bill may be paid afresh."""
        return await self._step(
            payment_id, (CREATED,), {"state": state, "updated_at": now, "last_error": error[:200]}
        )

    async def touch(self, payment_id: str, now: datetime) -> None:
        """A CREATED order asked about: not asked again before the next round."""
        await self._step(payment_id, (CREATED,), {"updated_at": now})

    async def first_sight(self, nonce: str, now: datetime) -> bool:
        """True the first time ``nonce`` is seen (by any process); False for a replay."""
        try:
            async with self.sessions.begin() as session:
                session.add(NotifyNonceRow(nonce=nonce, seen_at=now))
            return True
        except IntegrityError:
            return False

    async def forget_nonces(self, before: datetime) -> int:
        """Nonces whose notifications are too old to be accepted anyway."""
        async with self.sessions.begin() as session:
            return rowcount(
                await session.execute(delete(NotifyNonceRow).where(NotifyNonceRow.seen_at < before))
            )

    async def _step(self, payment_id: str, from_states: tuple[str, ...], values: dict[str, object]) -> bool:
        statement = (
            update(PaymentRow)
            .where(PaymentRow.id == payment_id, PaymentRow.state.in_(from_states))
            .values(**values)
        )
        async with self.sessions.begin() as session:
            return rowcount(await session.execute(statement)) == 1

    async def _one(self, query: object) -> Payment | None:
        async with self.sessions() as session:
            row = (await session.scalars(query)).first()  # type: ignore[call-overload]
            return None if row is None else Payment.of(row)
