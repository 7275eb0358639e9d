"""Claiming an idempotency key, and remembering the case it became (see ``store.applications``).

``claim`` inserts a PENDING row; the unique constraint on (principal digest, key) makes exactly one of
any number of racing submissions — in one process or in several — the claimant. The others read the
row: DONE answers with the case, PENDING means "wait for the claimant". The claimant ends its claim
with ``complete`` (the department made the case) or ``release`` (it did not: the row is deleted, so the
key never points at a case that does not exist). A claimant that died leaves a PENDING row behind;
after its lease another request may ``take_over`` — safe, because the department gets the same
idempotency key again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.records import CaseRecord
from store.applications import DONE, PENDING, SubmissionRow
from store.db import rowcount


@dataclass(frozen=True, slots=True)
class Submission:
    """A claimed or finished submission, without anything personal."""

    id: int
    fingerprint: str
    resident_digest: str
    service_id: str
    department: str
    state: str
    claim: str
    claimed_at: datetime
    case_ref: str | None
    case_status: str | None
    department_status: str | None
    submitted_at: datetime | None

    @property
    def done(self) -> bool:
        return self.state == DONE


@dataclass(frozen=True, slots=True)
class Claim:
    """What the claimant holds: the row and the token only it knows."""

    id: int
    token: str


@dataclass(frozen=True, slots=True)
class SubmissionKey:
    principal_digest: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Wanted:
    """What is about to be submitted (for the row, and to tell a reused key from a retry)."""

    fingerprint: str
    resident_digest: str
    service_id: str
    department: str


def _submission(row: SubmissionRow) -> Submission:
    return Submission(
        row.id,
        row.fingerprint,
        row.resident_digest,
        row.service_id,
        row.department,
        row.state,
        row.claim,
        row.claimed_at,
        row.case_ref,
        row.case_status,
        row.department_status,
        row.submitted_at,
    )


class SubmissionBook:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def claim(self, key: SubmissionKey, wanted: Wanted, now: datetime) -> Claim | Submission | None:
        """The claim on ``key`` (this request submits), or the submission already there; None when it
        was released between our insert and our read (try again)."""
        token = secrets.token_hex(16)
        row = SubmissionRow(
            principal_digest=key.principal_digest,
            idempotency_key=key.idempotency_key,
            fingerprint=wanted.fingerprint,
            resident_digest=wanted.resident_digest,
            service_id=wanted.service_id,
            department=wanted.department,
            state=PENDING,
            claim=token,
            claimed_at=now,
        )
        try:
            async with self.sessions.begin() as session:
                session.add(row)
                await session.flush()
                return Claim(row.id, token)
        except IntegrityError:
            return await self.get(key)

    async def get(self, key: SubmissionKey) -> Submission | None:
        async with self.sessions() as session:
            row = (
                await session.scalars(
                    select(SubmissionRow).where(
                        SubmissionRow.principal_digest == key.principal_digest,
                        SubmissionRow.idempotency_key == key.idempotency_key,
                    )
                )
            ).one_or_none()
            return None if row is None else _submission(row)

    async def take_over(self, stale: Submission, now: datetime) -> Claim | None:
        """Take a PENDING claim whose holder is presumed dead; None if anyone moved first."""
        token = secrets.token_hex(16)
        async with self.sessions.begin() as session:
            moved = await session.execute(
                update(SubmissionRow)
                .where(
                    SubmissionRow.id == stale.id,
                    SubmissionRow.claim == stale.claim,
                    SubmissionRow.state == PENDING,
                )
                .values(claim=token, claimed_at=now)
            )
        return Claim(stale.id, token) if rowcount(moved) == 1 else None

    async def complete(self, claim: Claim, case: CaseRecord) -> None:
        """The department made ``case``: the key now answers it."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == claim.id, SubmissionRow.claim == claim.token)
                .values(
                    state=DONE,
                    case_ref=case.id,
                    case_status=case.status.value,
                    department_status=case.department_status[:80],
                    submitted_at=case.submitted_at,
                )
            )

    async def release(self, claim: Claim) -> None:
        """The department made no case (or we cannot know): forget the claim so a retry starts over."""
        async with self.sessions.begin() as session:
            await session.execute(
                delete(SubmissionRow).where(
                    SubmissionRow.id == claim.id,
                    SubmissionRow.claim == claim.token,
                    SubmissionRow.state == PENDING,
                )
            )
