"""The access log as a tamper-evident chain per resident (what X-Road's signed message log gives).

Each resident's rows are numbered ``seq`` = 1, 2, 3, ... and each row's ``mac`` is
``HMAC-SHA256(key, previous row's mac + content)``, the content being every field of the row, its
resident and its ``seq``. Whoever edits a row in the database without the key cannot make its MAC
match; whoever deletes one leaves a gap in ``seq`` (renumbering breaks every MAC after it); the head
(``access_log_heads``) says where the chain ends, so the last rows cannot silently go either.

Writers: a request's rows for one resident are appended in one transaction that moves the head with a
conditional ``UPDATE ... WHERE seq = <the seq read>``: of two concurrent writers (any process, SQLite or
PostgreSQL) one wins, the other's update touches no row and it starts again from the new head; a
unique index on (resident, seq) backs that up. Expiry (retention) deletes a resident's oldest rows and
keeps the last deleted row's ``seq`` and ``mac`` as the chain's anchor, sealed by its own HMAC, so the
rest still verifies and dropping rows from the start is detected like any other deletion.

What the chain cannot show on its own: someone holding the database *and* an old copy of it could put
back an older head with the rows after it removed. Verification outside the database (the resident's
own count of their entries, an exported head) would be the next step.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import operator
import random
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.digest import DEVELOPMENT_SECRET
from store.access import AccessChainHead, AccessLogRow
from store.db import rowcount

log = logging.getLogger("onestop.access")

GENESIS = "0" * 64  # the "previous mac" of a resident's first row
_LABEL = b"onestop access-log chain v1"  # the key is derived for this use alone
MAX_ATTEMPTS = 50  # concurrent writers for one resident retry; each retry means another writer won

CONTENT = (
    "at",
    "actor_digest",
    "actor_role",
    "station",
    "data",
    "department",
    "purpose",
    "channel",
    "session_id",
    "note",
)


class ChainKey:
    """The HMAC key of the chain, derived from ``ONESTOP_ACCESS_LOG_KEY`` (else the digest key's secret)."""

    __slots__ = ("_key",)

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("an access-log key cannot be empty")
        self._key = hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()

    def mac(self, previous: str, resident: str, seq: int, values: Sequence[Any]) -> str:
        """The MAC of a row whose ``CONTENT`` values (in that order, ``at`` first) are ``values``."""
        at, *rest = values
        content = [resident, seq, utc(at).isoformat(timespec="microseconds"), *rest]
        message = previous.encode() + b"\n" + orjson.dumps(content)
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def anchor_tag(self, resident: str, seq: int, mac: str) -> str:
        message = b"anchor\n" + orjson.dumps([resident, seq, mac])
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "ChainKey(<keyed>)"

    @classmethod
    def from_secrets(cls, access_log_key: str | None, digest_secret: str | None) -> ChainKey:
        """``ONESTOP_ACCESS_LOG_KEY``, else the digest key's secret (which production requires), else the
        public development key. Derived for this use alone, so sharing a secret shares no key."""
        return cls(access_log_key or digest_secret or DEVELOPMENT_SECRET)


def utc(at: datetime) -> datetime:
    """One form for every time: aware, UTC (SQLite keeps no zone; PostgreSQL gives it back as UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class ChainConflict(RuntimeError):
    """Another writer kept moving this resident's head; the rows were not written."""


# -- writing -----------------------------------------------------------------------------------------


async def append(
    sessions: async_sessionmaker[AsyncSession], key: ChainKey, rows: Sequence[dict[str, Any]]
) -> None:
    """Write ``rows`` (dicts of ``AccessLogRow`` columns, ``resident_digest`` included) at the end of
    their residents' chains, all in one transaction; retried when another writer moved a head first."""
    by_resident: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_resident.setdefault(row["resident_digest"], []).append(row | {"at": utc(row["at"])})
    for attempt in range(MAX_ATTEMPTS):
        try:
            async with sessions.begin() as session:
                for resident in sorted(by_resident):  # one order everywhere: no deadlock between writers
                    await _append_one(session, key, resident, by_resident[resident])
            return
        except (ChainConflict, IntegrityError):
            await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise ChainConflict(f"access log: gave up after {MAX_ATTEMPTS} concurrent writers")


async def _append_one(
    session: AsyncSession, key: ChainKey, resident: str, rows: list[dict[str, Any]]
) -> None:
    found = (
        await session.execute(
            select(AccessChainHead.seq, AccessChainHead.mac).where(
                AccessChainHead.resident_digest == resident
            )
        )
    ).first()
    if found is None:
        await session.execute(
            insert(AccessChainHead).values(
                resident_digest=resident, seq=0, mac=GENESIS, anchor_seq=0, anchor_mac=GENESIS
            )
        )  # a concurrent first writer: IntegrityError, and this one retries behind it
        read_seq, read_mac = 0, GENESIS
        seq, mac = await _last_chained(session, resident)
        seq, mac = await _chain_legacy_rows(session, key, resident, seq, mac)
    else:
        read_seq, read_mac = found.seq, found.mac
        seq, mac = read_seq, read_mac
    chained = []
    for row in rows:
        seq += 1
        mac = key.mac(mac, resident, seq, [row.get(name) for name in CONTENT])
        chained.append(row | {"seq": seq, "mac": mac})
    moved = await session.execute(
        update(AccessChainHead)
        .where(AccessChainHead.resident_digest == resident, AccessChainHead.seq == read_seq)
        .values(seq=seq, mac=mac)
    )
    if rowcount(moved) != 1:
        raise ChainConflict(resident)
    await session.execute(insert(AccessLogRow), chained)


async def _chain_legacy_rows(
    session: AsyncSession, key: ChainKey, resident: str, seq: int, mac: str
) -> tuple[int, str]:
    """Rows written before the chain existed (NULL seq) become its first rows, in the order written."""
    legacy = await session.scalars(
        select(AccessLogRow)
        .where(AccessLogRow.resident_digest == resident, AccessLogRow.seq.is_(None))
        .order_by(AccessLogRow.id)
    )
    for row in legacy.all():
        seq += 1
        mac = key.mac(mac, resident, seq, _content(row))
        await session.execute(update(AccessLogRow).where(AccessLogRow.id == row.id).values(seq=seq, mac=mac))
    return seq, mac


async def _last_chained(session: AsyncSession, resident: str) -> tuple[int, str]:
    """Chained rows but no head: someone deleted it. Go on after the last row (so the resident's data
    is not withheld for ever) and say so loudly; ``onestop audit verify`` reported it until now."""
    last = (
        await session.execute(
            select(AccessLogRow.seq, AccessLogRow.mac)
            .where(AccessLogRow.resident_digest == resident, AccessLogRow.seq.is_not(None))
            .order_by(AccessLogRow.seq.desc())
            .limit(1)
        )
    ).first()
    if last is None or last.mac is None:
        return 0, GENESIS
    log.error("access log: a resident's chain head was missing (deleted?); continued after its last row")
    return int(last.seq), str(last.mac)


_content = operator.attrgetter(*CONTENT)  # a stored row's CONTENT values, in order


# -- verifying ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Break:
    """One place the chain does not hold: the row (its id, when there is one) and what is wrong."""

    row_id: int | None
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row_id} (seq {self.seq})" if self.row_id is not None else f"seq {self.seq}"
        return f"{where}: {self.problem}"


@dataclass(slots=True)
class Report:
    resident: str
    rows: int = 0
    legacy: int = 0  # rows written before the chain, for a resident with no chain yet
    breaks: list[Break] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.breaks


_COLUMNS = tuple(AccessLogRow.__table__.columns)  # plain rows: verifying reads no ORM objects (~3x faster)


def check(key: ChainKey, resident: str, head: AccessChainHead | None, rows: Iterable[Any]) -> Report:
    """Verify one resident's rows (ordered by ``seq``; ``AccessLogRow`` objects or plain rows of its
    columns) against their head. Pure: no database."""
    report = Report(resident)
    if head is None:
        rows = list(rows)
        if any(row.seq is not None for row in rows):
            report.breaks.append(Break(None, None, "the chain's head is missing (deleted)"))
    anchor_seq, previous = (0, GENESIS) if head is None else (head.anchor_seq, head.anchor_mac)
    if (
        head is not None
        and head.anchor_seq
        and head.anchor_tag != key.anchor_tag(resident, head.anchor_seq, head.anchor_mac)
    ):
        report.breaks.append(Break(None, head.anchor_seq, "the expiry anchor was altered"))
    expected = anchor_seq + 1
    for row in rows:
        report.rows += 1
        if row.seq is None or row.mac is None:
            if head is None:
                report.legacy += 1
            else:
                report.breaks.append(Break(row.id, None, "not chained: added outside the access log"))
            continue
        if row.seq <= anchor_seq:
            continue  # expired, its deletion not yet committed
        if row.seq > expected:  # its predecessor is gone, so its own MAC cannot be checked
            report.breaks.append(Break(row.id, row.seq, f"rows {expected}..{row.seq - 1} are missing"))
        elif row.seq < expected:
            report.breaks.append(Break(row.id, row.seq, "seq repeated"))
        elif key.mac(previous, resident, row.seq, _content(row)) != row.mac:
            report.breaks.append(Break(row.id, row.seq, "content does not match its MAC (altered)"))
        previous, expected = row.mac, row.seq + 1
    if head is not None:
        if expected - 1 < head.seq:
            report.breaks.append(
                Break(None, head.seq, f"rows {expected}..{head.seq} are missing (the last rows)")
            )
        elif expected - 1 == head.seq and previous != head.mac:
            report.breaks.append(Break(None, head.seq, "the last row is not the one the head recorded"))
    return report


async def verify_resident(sessions: async_sessionmaker[AsyncSession], key: ChainKey, resident: str) -> Report:
    async with sessions() as session:
        head = await session.get(AccessChainHead, resident)
        rows = await session.execute(
            select(*_COLUMNS)
            .where(AccessLogRow.resident_digest == resident)
            .order_by(AccessLogRow.seq, AccessLogRow.id)
        )
        return check(key, resident, head, rows.all())


async def verify_all(sessions: async_sessionmaker[AsyncSession], key: ChainKey) -> AsyncIterator[Report]:
    """Every resident's report (those with rows or a head), streaming rows resident by resident."""
    async with sessions() as session:
        heads = {h.resident_digest: h for h in (await session.scalars(select(AccessChainHead))).all()}
        rows = await session.stream(
            select(*_COLUMNS)
            .order_by(AccessLogRow.resident_digest, AccessLogRow.seq, AccessLogRow.id)
            .execution_options(yield_per=2000)  # fetched in chunks: one thread hop per 2,000 rows
        )
        current: str | None = None
        batch: list[Any] = []
        async for partition in rows.partitions():
            for row in partition:
                if row.resident_digest != current:
                    if current is not None:
                        yield check(key, current, heads.pop(current, None), batch)
                    current, batch = row.resident_digest, []
                batch.append(row)
        if current is not None:
            yield check(key, current, heads.pop(current, None), batch)
    for resident, head in sorted(heads.items()):  # heads whose rows are all gone
        yield check(key, resident, head, [])


# -- expiring ----------------------------------------------------------------------------------------


async def expire(sessions: async_sessionmaker[AsyncSession], key: ChainKey, before: datetime) -> int:
    """Delete chained rows older than ``before``, each resident's chain anchored at its last deleted
    row. Returns how many rows were deleted. Safe beside writers and other expirers."""
    async with sessions() as session:
        residents = (
            await session.scalars(
                select(AccessLogRow.resident_digest)
                .where(AccessLogRow.at < utc(before), AccessLogRow.seq.is_not(None))
                .distinct()
            )
        ).all()
    deleted = 0
    for resident in residents:
        deleted += await _expire_one(sessions, key, resident, utc(before))
    return deleted


async def _expire_one(
    sessions: async_sessionmaker[AsyncSession], key: ChainKey, resident: str, before: datetime
) -> int:
    async with sessions.begin() as session:
        head = await session.get(AccessChainHead, resident)
        if head is None:
            return 0
        first_kept = await session.scalar(
            select(func.min(AccessLogRow.seq)).where(
                AccessLogRow.resident_digest == resident,
                AccessLogRow.at >= before,
                AccessLogRow.seq.is_not(None),
            )
        )
        through = head.seq if first_kept is None else first_kept - 1
        if through <= head.anchor_seq:
            return 0
        last_mac = await session.scalar(
            select(AccessLogRow.mac).where(
                AccessLogRow.resident_digest == resident, AccessLogRow.seq == through
            )
        )
        if last_mac is None:
            return 0  # that row is gone already: leave the break for verify to report
        anchored = await session.execute(
            update(AccessChainHead)
            .where(AccessChainHead.resident_digest == resident, AccessChainHead.anchor_seq == head.anchor_seq)
            .values(
                anchor_seq=through,
                anchor_mac=last_mac,
                anchor_tag=key.anchor_tag(resident, through, last_mac),
            )
        )
        if rowcount(anchored) != 1:
            return 0  # another process expired it meanwhile
        gone = await session.execute(
            delete(AccessLogRow).where(AccessLogRow.resident_digest == resident, AccessLogRow.seq <= through)
        )
        return rowcount(gone)
