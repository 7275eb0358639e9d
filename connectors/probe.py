"""Probe a spec against the department's live endpoints before it is served.

Each operation is called once through a throw-away connector built from the spec (its own session,
no cache, the spec's own timeouts and auth), so the probe sees exactly what serving would see. The
report says, per operation, how many canonical records the answer produced, a few samples, and every
problem (records left out, an empty list where the spec points at the wrong ``items``). Personal
operations are probed with ``probe.resident_id`` from the spec, or skipped with a warning.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from connectors.adapter import SpecAdapter
from connectors.cache import ResponseCache
from connectors.errors import UpstreamError
from connectors.probe_log import PAGES, PageLog
from connectors.registry import build_department
from connectors.spec import PERSONAL, ConnectorSpec
from domain.records import OperationResult
from observability.context import REQUEST_ID

SAMPLES = 3
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OperationProbe:
    capability: str
    ok: bool
    records: int = 0
    samples: tuple[dict[str, Any], ...] = ()
    problems: tuple[str, ...] = ()
    skipped: bool = False
    elapsed_ms: int = 0
    pages: tuple[int, ...] = ()  # records on each page read, in order
    last_page_reached: bool | None = None  # None: not paged or not called


@dataclass(frozen=True, slots=True)
class ProbeReport:
    department: str
    operations: tuple[OperationProbe, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.operations)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{o.capability}: {p}" for o in self.operations for p in o.problems)


WRITES = {
    "applications": "not probed: a submission makes a case",
    "payments": "not probed: a payment marks a bill paid",
    "hours_reports": "not probed: a report files a volunteer's hours",
}


async def probe(spec: ConnectorSpec) -> ProbeReport:
    """Call every operation of ``spec`` once, in parallel; never raises for a failing department."""
    department = build_department(spec, 0, ResponseCache("none://"))
    try:
        results = await asyncio.gather(*(_probe_one(department.adapter, spec, c) for c in spec.capabilities))
    finally:
        await department.transport.close()
    return ProbeReport(spec.id, tuple(results))


async def _probe_one(adapter: SpecAdapter, spec: ConnectorSpec, capability: str) -> OperationProbe:
    resident = spec.probe.resident_id if spec.probe else None
    if capability in WRITES:  # a submission makes a case, a payment marks a bill: never sent to try
        return OperationProbe(capability, ok=True, skipped=True, problems=(WRITES[capability],))
    if capability in PERSONAL and resident is None:
        return OperationProbe(
            capability, ok=True, skipped=True, problems=("not probed: the spec has no probe.resident_id",)
        )
    started = time.monotonic()
    pages = PageLog(personal=capability in PERSONAL)
    token = PAGES.set(pages)
    try:
        result = await _call(adapter, capability, resident if capability in PERSONAL else None)
    except UpstreamError as exc:
        return OperationProbe(
            capability,
            ok=False,
            problems=(f"{exc.code.value}: {exc.message}", *pages.context(), *_stopped(pages)),
            pages=pages.counts,
            last_page_reached=False,
        )
    except Exception as exc:  # a spec that breaks the connector: a finding, not a crash
        # the request id rides on the record: the log line may be formatted outside this context
        log.exception(
            "probe of %s %s: the connector failed",
            spec.id,
            capability,
            extra={"request_id": REQUEST_ID.get()},
        )
        problem = (
            f"the connector failed: {type(exc).__name__}: {str(exc)[:200]} (operators have the traceback)"
        )
        return OperationProbe(capability, ok=False, problems=(problem, *pages.context()), pages=pages.counts)
    finally:
        PAGES.reset(token)
    elapsed = int((time.monotonic() - started) * 1000)
    records, problems = tuple(result.records), list(result.problems)
    if not records and capability not in PERSONAL:
        problems.append("the answer produced no records: is `items` pointing at the list?")
    elif not records:
        problems.append("the sample resident has no records here (answered, so the call works)")
    if len(pages.counts) > 1:
        counts = ", ".join(str(c) for c in pages.counts)
        problems.append(f"paging: {len(pages.counts)} pages ({counts} records), the last page was reached")
    return OperationProbe(
        capability,
        ok=bool(records) or capability in PERSONAL,
        records=len(records),
        samples=tuple(_plain(r) for r in records[:SAMPLES]) if capability not in PERSONAL else (),
        problems=tuple(problems),
        elapsed_ms=elapsed,
        pages=pages.counts,
        last_page_reached=True if pages.counts else None,
    )


def _stopped(pages: PageLog) -> tuple[str, ...]:
    if not pages.pages:
        return ()
    counts = ", ".join(str(c) for c in pages.pages)
    return (
        f"paging: stopped after {len(pages.pages)} pages ({counts} records), the last page was not reached",
    )


async def _call(adapter: SpecAdapter, capability: str, resident: str | None) -> OperationResult[Any]:
    if capability == "facts" and resident is not None:  # batched or not, as serving would ask
        answer = (await adapter.facts([resident]))[resident]
        if isinstance(answer, UpstreamError):
            raise answer
        return answer.value
    fetched = await adapter.run(capability, resident)
    value: OperationResult[Any] = fetched.value
    return value


def _plain(record: Any) -> dict[str, Any]:
    """A record as JSON-ready data (samples of public data only: personal records are never shown)."""
    data: dict[str, Any] = TypeAdapter(type(record)).dump_python(record, mode="json")
    return data if dataclasses.is_dataclass(record) else {"value": data}
