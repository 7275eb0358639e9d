"""``caseUpdated``: a resident's (or, in a consented assisted session, staff's) live feed of case changes.

Order matters, so no change is missed: listen on the resident's bus topic first, start watching
(pollers), then fetch the cases once as the baseline. Every change heard afterwards is compared with
what this subscriber last saw, so a change reported by both a poller and a webhook, or by two
processes, reaches the client once.

Who may listen is the access policy's decision (``Context.acting_for``, purpose ``CASES``), taken when
the subscription starts and again before each update leaves (a consent revoked or a token expired
mid-stream ends the stream). Case ids that are not the resident's are refused as ``case(id)`` refuses
them: ``FORBIDDEN``, the same for "someone else's" and "no such case".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from graphql import GraphQLError

from access.policy import AccessDenied, Acting, Purpose
from access.service import Access
from connectors.errors import UpstreamError
from coordination.bus import Bus, Message
from coordination.case_changes import CaseChange, same_state, stamp, topic_for
from coordination.live import LiveCases
from coordination.watch import CaseWatch
from domain.records import CaseRecord, CaseStatus
from resolvers.cases import NOT_YOURS, parse_case_id
from resolvers.errors import InputError

log = logging.getLogger("onestop.cases.live")

MAX_CASE_IDS = 100
RECHECK_S = 60.0  # a quiet stream still ends within this long of a consent revoked or expired
# The wall clock tokens expire on (seconds since the epoch, like a JWT's `exp`). A module attribute, not a
# parameter: the subscription is reached through the schema, and tests move this clock past a token's
# expiry instead of sleeping until it comes.
wall_clock: Callable[[], float] = time.time


class LiveParts(Protocol):
    """The app's parts a subscription uses (``services.Services`` has them): read-only, as there."""

    @property
    def live(self) -> LiveCases: ...  # live.watch: the pollers of watched cases

    @property
    def bus(self) -> Bus: ...

    @property
    def access(self) -> Access: ...


class Caller(Protocol):
    """What a subscription needs of its context (``schema.context.Context`` is one)."""

    @property
    def services(self) -> LiveParts: ...

    async def acting_for(self, resident: str | None, purpose: Purpose) -> Acting: ...

    async def record_access(self, acting: Acting, data: str, department: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class CaseUpdateEvent:
    record: CaseRecord
    previous_status: CaseStatus | None
    changed_at: datetime | None
    source: str  # POLL or WEBHOOK


def wanted_cases(case_ids: Sequence[str] | None, departments: Sequence[str]) -> dict[str, set[str]] | None:
    """Case references asked for, by department; None for "all the resident's cases"."""
    if case_ids is None:
        return None
    if not case_ids or len(case_ids) > MAX_CASE_IDS:
        raise InputError("caseIds", f"give 1 to {MAX_CASE_IDS} case ids, or leave it out for all")
    wanted: dict[str, set[str]] = {}
    for value in case_ids:
        parsed = parse_case_id(value)
        if parsed.department not in departments:
            raise AccessDenied("FORBIDDEN", NOT_YOURS)
        wanted.setdefault(parsed.department, set()).add(parsed.reference)
    return wanted


async def case_updates(
    ctx: Caller, case_ids: Sequence[str] | None, resident: str | None
) -> AsyncIterator[CaseUpdateEvent]:
    acting = await ctx.acting_for(resident, Purpose.CASES)
    await _still_allowed(ctx, acting, resident)  # a websocket's context lives long: decide afresh
    watch = ctx.services.live.watch
    owners = [d.id for d in watch.registry().with_capability("cases")]
    wanted = wanted_cases(case_ids, owners)
    departments = sorted(wanted) if wanted is not None else owners
    async with (
        ctx.services.bus.subscribe(topic_for(acting.resident_digest)) as heard,
        watch.watching(acting.resident_id, departments),
    ):
        known = await _baseline(ctx, watch, acting, departments, wanted)
        while True:
            message = await _next_or_none(heard, _until_next_check(acting))
            if message is None:  # quiet for a while: is the listener still allowed to listen?
                await _still_allowed(ctx, acting, resident)
                continue
            change = CaseChange.from_message(message)
            if change is None or change.department not in departments:
                continue
            if wanted is not None and change.ref not in wanted[change.department]:
                continue
            record = await _current(
                watch, acting.resident_id, change, known.get((change.department, change.ref))
            )
            if record is None:
                continue
            last = known.get((change.department, change.ref))
            if last is not None and same_state(last, record):
                continue  # heard before (another source or process saw the same change)
            await _still_allowed(ctx, acting, resident)
            await ctx.record_access(acting, "cases", change.department)
            known[(change.department, change.ref)] = record
            previous = last.status if last is not None else _status(change.previous_status)
            yield CaseUpdateEvent(record, previous, record.updated_at, change.source)


async def _baseline(
    ctx: Caller,
    watch: CaseWatch,
    acting: Acting,
    departments: Sequence[str],
    wanted: dict[str, set[str]] | None,
) -> dict[tuple[str, str], CaseRecord]:
    """The cases as they are now, per department in parallel; named ids must be the resident's."""
    results = await asyncio.gather(
        *(watch.fetch(acting.resident_id, d) for d in departments), return_exceptions=True
    )
    known: dict[tuple[str, str], CaseRecord] = {}
    for department, result in zip(departments, results, strict=True):
        if isinstance(result, UpstreamError):
            if wanted is not None:
                # cannot tell whether the named cases are the resident's: refuse rather than guess
                raise upstream_refusal(result)
            log.info("case watch: no baseline from %s (%s); its poller will set it", department, result.code)
            continue
        if isinstance(result, BaseException):
            raise result
        if wanted is not None and not wanted[department] <= set(result):
            raise AccessDenied("FORBIDDEN", NOT_YOURS)
        watch.baseline(acting.resident_id, department, result)
        await ctx.record_access(acting, "cases", department)
        known.update(((department, ref), record) for ref, record in result.items())
    return known


async def _current(
    watch: CaseWatch, resident_id: str, change: CaseChange, last: CaseRecord | None
) -> CaseRecord | None:
    """The changed case in full: as this process last fetched it if that is already the new state,
    else from the department now, else (department unreachable) what we had with the new status."""
    seen = watch.seen(resident_id, change.department) or {}
    record = seen.get(change.ref)
    if record is not None and (record.department_status, stamp(record)) == (
        change.department_status,
        change.at,
    ):
        return record
    try:
        return (await watch.fetch(resident_id, change.department)).get(change.ref)
    except UpstreamError:
        status = _status(change.status)
        if last is None or status is None:
            return None
        updated = _parse(change.at) or last.updated_at
        return replace(last, status=status, department_status=change.department_status, updated_at=updated)


async def _next_or_none(heard: AsyncIterator[Message], timeout: float) -> Message | None:
    try:
        return await asyncio.wait_for(anext(heard), timeout)
    except TimeoutError:
        return None


def _until_next_check(acting: Acting) -> float:
    """Seconds to wait for a message before deciding again: at the token's expiry, or ``RECHECK_S``."""
    expires_at = acting.principal.expires_at
    if expires_at is None:
        return RECHECK_S
    return max(0.01, min(RECHECK_S, expires_at - wall_clock()))


async def _still_allowed(ctx: Caller, acting: Acting, resident: str | None) -> None:
    """Before each update: the token has not expired, and staff still hold the resident's consent."""
    principal = acting.principal
    if principal.expires_at is not None and principal.expires_at <= wall_clock():
        raise AccessDenied("UNAUTHENTICATED", "the token has expired; subscribe again with a new one")
    if acting.session_id is not None:
        await ctx.services.access.policy.acting_for(principal, resident, acting.purpose)


def upstream_refusal(error: UpstreamError) -> GraphQLError:
    """The department's failure as clients see it elsewhere: its code and the department named."""
    return GraphQLError(
        f"{error.department}: {error.message}",
        extensions={"code": error.code.value, "department": error.department},
    )


def _status(value: str | None) -> CaseStatus | None:
    try:
        return None if value is None else CaseStatus(value)
    except ValueError:
        return None


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
