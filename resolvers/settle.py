"""Waiting on answers other fields share, without letting one field's cancellation reach the others.

A DataLoader hands every field that asks for the same department the same future. graphql-core cancels
a field's siblings when an error nulls their parent (``gather_with_cancel``), and a cancelled waiter of
``asyncio.gather`` cancels what it waits on: the shared future itself. Every *other* field waiting on
it then received ``CancelledError`` without being cancelled, which no ``except Exception`` catches, and
the request ended as an untyped HTTP 500 (issue 14, finding 1).

``settle`` shields each shared future, so cancelling a waiter cancels only that waiter, and returns
every department's outcome as a value: a failure is that department's ``UpstreamError`` (an unexpected
exception, or a future someone else cancelled, becomes ``CONNECTOR_FAILED``), never the request's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, TypeVar

from connectors.errors import UpstreamCode, UpstreamError

log = logging.getLogger(__name__)

T = TypeVar("T")


async def settle(departments: Sequence[str], loads: Iterable[Awaitable[T]]) -> list[T | UpstreamError]:
    """Each department's answer, or its failure as a value; one per department, in order."""
    futures = [asyncio.ensure_future(load) for load in loads]
    for future in futures:
        future.add_done_callback(retrieve)  # every waiter may have left: no "never retrieved" noise
    results = await asyncio.gather(*(asyncio.shield(f) for f in futures), return_exceptions=True)
    return [_outcome(d, r) for d, r in zip(departments, results, strict=True)]


def _outcome(department: str, result: T | BaseException) -> T | UpstreamError:
    if isinstance(result, UpstreamError):
        return result
    if isinstance(result, Exception | asyncio.CancelledError):
        # reached only when this task is not the one cancelled (then ``gather`` itself raises)
        return unexpected(department, result)
    if isinstance(result, BaseException):
        raise result  # KeyboardInterrupt, SystemExit: the process is stopping
    return result


def unexpected(department: str, error: BaseException) -> UpstreamError:
    """A bug in one connector (or a shared answer cancelled under us) costs that department's data."""
    log.error("connector %s failed unexpectedly", department, exc_info=error)
    message = "its connector failed; operators have the details"
    return UpstreamError(UpstreamCode.CONNECTOR_FAILED, department, message)


def retrieve(future: asyncio.Future[Any]) -> None:
    """A done callback for a future shared by waiters that may all leave: its exception is retrieved."""
    if not future.cancelled():
        future.exception()
