"""A department adapter driven by its spec: builds requests, walks pages, decodes, maps.

Most departments need nothing but a spec; an odd one can subclass ``SpecAdapter`` and override one
step (``exchange``, ``fetch_page``) without touching the resilience layer around it.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit

import orjson
from pydantic import TypeAdapter

from connectors import applications, hours_reports
from connectors.applications import Application
from connectors.auth import Authenticator, filled
from connectors.cache import Entry
from connectors.errors import UpstreamCode, UpstreamError, status_error
from connectors.formats import Page, decode_page, find_soap_fault, reader_for, soap_fault_error
from connectors.hours_reports import HoursReport
from connectors.mapping import map_records
from connectors.payments import OPERATIONS, PaymentConfirmation
from connectors.payments import fill as payment_fill
from connectors.probe_log import PAGES
from connectors.resilience import OPERATION, CachePolicy, Fetched, Resilience
from connectors.spec import (
    PERSONAL,
    WRITES,
    Batch,
    ConnectorSpec,
    CursorPagination,
    Format,
    GraphqlFormat,
    JsonFormat,
    NextLinkPagination,
    NoPagination,
    NotFound,
    OffsetPagination,
    Operation,
    PagePagination,
    XmlFormat,
)
from connectors.transport import Transport, UpstreamRequest, UpstreamResponse
from domain.records import (
    RESIDENT_ID,
    AccountRecord,
    BillRecord,
    CaseRecord,
    HoursReceipt,
    OperationResult,
    ResidentFacts,
    ServiceRecord,
    StationRecord,
    VolunteerRecord,
)
from identity.digest import Digester

ENTRY_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "catalog": TypeAdapter(Entry[OperationResult[ServiceRecord]]),
    "stations": TypeAdapter(Entry[OperationResult[StationRecord]]),
    "facts": TypeAdapter(Entry[OperationResult[ResidentFacts]]),
    "cases": TypeAdapter(Entry[OperationResult[CaseRecord]]),
    "accounts": TypeAdapter(Entry[OperationResult[AccountRecord]]),
    "bills": TypeAdapter(Entry[OperationResult[BillRecord]]),
    "volunteers": TypeAdapter(Entry[OperationResult[VolunteerRecord]]),
}


def check_resident_id(resident_id: str) -> str:
    """Only a well-formed ID number is ever put into a department request (no injection by template)."""
    if not RESIDENT_ID.match(resident_id):
        raise ValueError("not an 18-character resident ID number")
    return resident_id


DEPARTMENT_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_key(department: str, key: str) -> str:
    """A department's own number goes into our next request to it: only plain characters, so an odd
    answer cannot steer that request elsewhere (a path, a query, another host)."""
    if not DEPARTMENT_KEY.match(key):
        message = "an account number with unexpected characters"
        raise UpstreamError(UpstreamCode.BAD_RESPONSE, department, message)
    return key


def _kept(result: Fetched[Any] | BaseException) -> Fetched[Any] | UpstreamError:
    if isinstance(result, BaseException) and not isinstance(result, UpstreamError):
        raise result
    return result


def spec_fingerprint(spec: ConnectorSpec) -> str:
    """Part of every cache key: a changed spec never serves what the old one cached."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:12]


class SpecAdapter:
    def __init__(
        self,
        spec: ConnectorSpec,
        transport: Transport,
        resilience: Resilience,
        auth: Authenticator,
        digester: Digester | None = None,
        operation_auth: Mapping[str, Authenticator] | None = None,
    ) -> None:
        """``digester``: the app's, so every process sharing a Redis cache finds the same keys.
        ``operation_auth``: capability -> its own authenticator, for operations that override auth."""
        self.spec = spec
        self.transport = transport
        self.resilience = resilience
        self.auth = auth
        self.operation_auth = dict(operation_auth or {})
        self._capability_of = {id(op): cap for cap, op in spec.operations.items()}
        self.fingerprint = spec_fingerprint(spec)
        self.base_url = spec.base_url.rstrip("/")
        self.digester = digester or Digester.ephemeral()

    @property
    def department(self) -> str:
        return self.spec.id

    async def catalog(self) -> Fetched[OperationResult[ServiceRecord]]:
        return await self.run("catalog")

    async def stations(self) -> Fetched[OperationResult[StationRecord]]:
        return await self.run("stations")

    async def cases(self, resident_id: str) -> Fetched[OperationResult[CaseRecord]]:
        """A resident's cases at this department, in the department's words and the canonical ones."""
        return await self.run("cases", resident_id)

    async def submit(self, application: Application) -> CaseRecord:
        """Forward an application; the case it became, in the department's words and the canonical ones.

        Sent again after a timeout or a failure only when the spec sends the idempotency key: without
        it a lost answer may hide a case already made, and a second try would make another. Afterwards
        the resident's cached cases of this department are dropped, so the new case is listed at once.
        """
        operation = self._operation("applications")
        request = self.build_submission(operation, application)
        idempotent = applications.sends_key(operation)
        auth = self.auth_for(operation)
        fmt = self.spec.format_of(operation)

        async def send() -> UpstreamResponse | None:
            return await self.resilience.call(
                lambda timeout: self.exchange(request, timeout, None, auth, fmt), idempotent
            )

        response = await self.resilience.deadline(send)
        if response is None:
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, "the application was not taken")
        page = decode_page(response, fmt, operation.items, self.department)
        result = map_records(page.items, reader_for(fmt), operation, "cases", self.department)
        if not result.records:
            problem = result.problems[0] if result.problems else "no case in the answer"
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, f"application: {problem}")
        await self.resilience.cache.delete(self._key("cases", application.resident_id))
        record: CaseRecord = replace(result.records[0], resident_id=application.resident_id)
        return record

    async def report_hours(self, report: HoursReport) -> HoursReceipt:
        """Report hours a volunteer served; the department's receipt.

        Retried after a timeout or a failure like any idempotent call: the report key is the
        department's dedupe key (the spec must send it), so a report is filed once however often sent.
        """
        operation = self._operation("hours_reports")
        fill = hours_reports.fill(replace(report, resident_id=check_resident_id(report.resident_id)))
        request = self.build_request(operation, (), fill)
        request = replace(request, headers={k: _fill(v, fill) for k, v in request.headers.items()})
        auth, fmt = self.auth_for(operation), self.spec.format_of(operation)

        async def send() -> UpstreamResponse | None:
            return await self.resilience.call(
                lambda timeout: self.exchange(request, timeout, None, auth, fmt), True
            )

        response = await self.resilience.deadline(send)
        if response is None:
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, "the report was not filed")
        page = decode_page(response, fmt, operation.items, self.department)
        result = map_records(page.items, reader_for(fmt), operation, "hours_reports", self.department)
        receipt = next((r for r in result.records if r.report_key == report.report_key), None)
        if receipt is None:
            problem = result.problems[0] if result.problems else "no receipt for this report in the answer"
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, f"hours report: {problem}")
        assert isinstance(receipt, HoursReceipt)
        return receipt

    async def confirm_payment(self, confirmation: PaymentConfirmation) -> BillRecord | CaseRecord:
        """Tell the department a bill (or an application's fee) was paid; the bill (or the case) as it
        now stands, in its words.

        Retried like any idempotent call: the department knows the payment by the provider's
        transaction number, so telling it twice records one payment.
        """
        capability = OPERATIONS[confirmation.kind]
        operation = self._operation(capability)
        fmt = self.spec.format_of(operation)
        request = self.build_request(operation, (), payment_fill(confirmation))
        if operation.body is not None and isinstance(fmt, JsonFormat):
            request = replace(
                request, headers={"Content-Type": "application/json; charset=utf-8", **request.headers}
            )
        auth = self.auth_for(operation)

        async def send() -> UpstreamResponse | None:
            return await self.resilience.call(
                lambda timeout: self.exchange(request, timeout, None, auth, fmt), True
            )

        response = await self.resilience.deadline(send)
        if response is None:
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, "the payment was not taken")
        page = decode_page(response, fmt, operation.items, self.department)
        answered = "bills" if capability == "payments" else "cases"  # the bill, or the case, as it stands
        result = map_records(page.items, reader_for(fmt), operation, answered, self.department)
        if not result.records:
            problem = result.problems[0] if result.problems else "no record in the answer"
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, f"payment: {problem}")
        record: BillRecord | CaseRecord = result.records[0]
        return record

    async def forget(self, capability: str, resident_digest: str) -> None:
        """Drop a resident's cached ``capability`` (after a write changed it), by their digest."""
        await self.resilience.cache.delete(
            f"{self.department}:{self.fingerprint}:{capability}:{resident_digest}"
        )

    def build_submission(self, operation: Operation, application: Application) -> UpstreamRequest:
        """The request for one application: the body's values escaped for the format, the rest plain."""
        check_resident_id(application.resident_id)
        fmt = self.spec.format_of(operation)
        body_fill = applications.fill(application, operation.submission, fmt.kind)
        plain = applications.fill(application, operation.submission, "plain")
        body = None if operation.body is None else _fill(operation.body, body_fill)
        request = self.build_request(operation.model_copy(update={"body": body}), (), plain)
        headers = {name: _fill(value, plain) for name, value in request.headers.items()}
        if operation.body is not None and isinstance(fmt, JsonFormat):
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        if operation.body is not None and isinstance(fmt, XmlFormat):
            headers.setdefault("Content-Type", "application/xml; charset=utf-8")
        return replace(request, headers=headers)

    async def fresh_cases(self, resident_id: str) -> OperationResult[CaseRecord]:
        """A resident's cases asked now, past the cache (watching for changes), and cached for others.

        Goes through the same deadline, breaker and retries as every call; only the cache is skipped.
        """
        operation = self._operation("cases")
        fill = {"resident_id": check_resident_id(resident_id)}
        value: OperationResult[CaseRecord] = await self.resilience.deadline(
            lambda: self.fetch_all("cases", operation, fill)
        )
        await self.resilience.cache.set(
            self._key("cases", resident_id),
            Entry(value, time.time()),
            operation.cache_ttl_s,
            ENTRY_ADAPTERS["cases"],
        )
        return value

    async def facts(
        self, resident_ids: Sequence[str]
    ) -> dict[str, Fetched[OperationResult[Any]] | UpstreamError]:
        """What this department knows about each resident: cached ones from the cache, the rest in as
        few calls as the department allows (batches of ``batch.max_size``, in parallel) or one call
        per resident (in parallel) where it answers one at a time."""
        ids = list(dict.fromkeys(check_resident_id(r) for r in resident_ids))
        operation = self._operation("facts")
        if operation.batch is None:
            results = await asyncio.gather(*(self.run("facts", r) for r in ids), return_exceptions=True)
            return dict(zip(ids, (_kept(r) for r in results), strict=True))
        return await self._facts_in_batches(operation, operation.batch, ids)

    def auth_for(self, operation: Operation) -> Authenticator:
        """The operation's own authenticator when it overrides auth, else the department's."""
        capability = self._capability_of.get(id(operation))
        return self.operation_auth.get(capability or "", self.auth)

    def _operation(self, capability: str) -> Operation:
        operation: Operation | None = self.spec.operations.get(capability)  # type: ignore[call-overload]
        if operation is None:
            raise LookupError(f"{self.department} has no {capability} operation")
        return operation

    def _key(self, capability: str, resident_id: str | None = None) -> str:
        base = f"{self.department}:{self.fingerprint}:{capability}"
        if resident_id is None:
            return base
        # a shared cache is no place for ID numbers: the key carries a keyed digest (an unkeyed one
        # is reversed by trying every ID number), the value stays personal
        return f"{base}:{self.digester.of(resident_id)}"

    def run_now(self, capability: str) -> Fetched[Any] | None:
        """``run(capability)``'s answer when it is a fresh cache hit already in process memory, found
        without awaiting; None otherwise (``run`` then does the work, errors included)."""
        operation = self.spec.operations.get(capability)  # type: ignore[call-overload]
        if operation is None or capability == "applications":
            return None
        policy = CachePolicy(operation.cache_ttl_s, operation.stale_ttl_s, operation.public)
        found: Fetched[Any] | None = self.resilience.cached_now(self._key(capability), policy)
        return found

    async def run(self, capability: str, resident_id: str | None = None) -> Fetched[Any]:
        if capability in WRITES:  # side effects: only submit() / confirm_payment() / report_hours()
            raise LookupError(f"{self.department}: {capability} are written, not read")
        operation = self._operation(capability)
        fill = {} if resident_id is None else {"resident_id": check_resident_id(resident_id)}
        policy = CachePolicy(operation.cache_ttl_s, operation.stale_ttl_s, operation.public)
        return await self.resilience.cached(
            self._key(capability, resident_id),
            policy,
            ENTRY_ADAPTERS[capability],
            lambda: self._fetch_keyed(capability, operation, fill),
        )

    async def _fetch_keyed(
        self, capability: str, operation: Operation, fill: Mapping[str, str]
    ) -> OperationResult[Any]:
        """Most operations are one walk of pages. One keyed by the department's own numbers
        (``for_each``) first finds the resident's numbers (cached on their own: they rarely change),
        then asks once per number, in parallel."""
        if operation.for_each is None:
            return await self.fetch_all(capability, operation, fill)
        found: OperationResult[Any] = (await self.run(operation.for_each, fill["resident_id"])).value
        keys = list(dict.fromkeys(check_key(self.department, a.key) for a in found.records))
        results = await asyncio.gather(
            *(self.fetch_all(capability, operation, {**fill, "key": key}) for key in keys)
        )
        return OperationResult(
            tuple(r for result in results for r in result.records),
            tuple(p for result in (found, *results) for p in result.problems),
        )

    async def _facts_in_batches(
        self, operation: Operation, batch: Batch, ids: list[str]
    ) -> dict[str, Fetched[OperationResult[Any]] | UpstreamError]:
        adapter = ENTRY_ADAPTERS["facts"]
        entries = await asyncio.gather(
            *(self.resilience.cache.get(self._key("facts", r), adapter) for r in ids)
        )
        found: dict[str, Fetched[OperationResult[Any]] | UpstreamError] = {
            r: Fetched(e.value, from_cache=True, age_s=e.age())
            for r, e in zip(ids, entries, strict=True)
            if e is not None and e.age() < operation.cache_ttl_s
        }
        missing = [r for r in ids if r not in found]
        self.resilience.cache_hits += len(found)
        self.resilience.cache_misses += len(missing) if self.resilience.cache.enabled else 0
        chunks = [missing[i : i + batch.max_size] for i in range(0, len(missing), batch.max_size)]
        results = await asyncio.gather(
            *(self._fetch_batch(operation, batch, c) for c in chunks), return_exceptions=True
        )
        for chunk, result in zip(chunks, results, strict=True):
            if isinstance(result, UpstreamError):
                found.update((r, result) for r in chunk)
            elif isinstance(result, BaseException):
                raise result
            else:
                found.update(result)
        return {r: found[r] for r in ids}

    async def _fetch_batch(
        self, operation: Operation, batch: Batch, chunk: list[str]
    ) -> dict[str, Fetched[OperationResult[Any]]]:
        fill = {
            "resident_ids": batch.separator.join(
                batch.item_template.replace("{resident_id}", r) for r in chunk
            ),
            "resident_ids_json": orjson.dumps(chunk).decode(),
        }
        result = await self.resilience.deadline(lambda: self.fetch_all("facts", operation, fill))
        per_resident: dict[str, list[Any]] = {r: [] for r in chunk}
        for record in result.records:
            if record.resident_id in per_resident:  # an answer about someone we did not ask for is dropped
                per_resident[record.resident_id].append(record)
        now = time.time()
        fetched: dict[str, Fetched[OperationResult[Any]]] = {}
        for resident_id, records in per_resident.items():
            value = OperationResult(tuple(records[:1]), result.problems)
            await self.resilience.cache.set(
                self._key("facts", resident_id),
                Entry(value, now),
                operation.cache_ttl_s,
                ENTRY_ADAPTERS["facts"],
            )
            fetched[resident_id] = Fetched(value)
        return fetched

    # -- pages -------------------------------------------------------------------------------------

    async def fetch_all(
        self, capability: str, operation: Operation, fill: Mapping[str, str] | None = None
    ) -> OperationResult[Any]:
        fill = fill or {}
        OPERATION.set(capability)  # observers name upstream calls by it (runs in its own task)
        items = await self.fetch_items(operation, fill)
        reader = reader_for(self.spec.format_of(operation))
        result = map_records(items, reader, operation, capability, self.department)
        if "resident_id" in fill and capability in PERSONAL:  # about that resident, whatever it says
            result = OperationResult(
                tuple(replace(r, resident_id=fill["resident_id"]) for r in result.records), result.problems
            )
        if not result.records and result.problems:
            raise UpstreamError(
                UpstreamCode.BAD_RESPONSE,
                self.department,
                f"no usable {capability} item: {result.problems[0]}",
            )
        return _unique(result)

    async def fetch_items(self, operation: Operation, fill: Mapping[str, str]) -> list[Any]:
        pagination = operation.pagination
        if isinstance(pagination, NoPagination):
            return list((await self.fetch_page(operation, (), fill)).items)
        if isinstance(pagination, CursorPagination):
            return await self._walk_cursor(operation, pagination, fill)
        if isinstance(pagination, NextLinkPagination):
            return await self._walk_links(operation, fill)
        return await self._walk_numbered(operation, pagination, fill)

    async def _walk_numbered(
        self, operation: Operation, pagination: PagePagination | OffsetPagination, fill: Mapping[str, str]
    ) -> list[Any]:
        """Page 1 tells the total; the other pages are then fetched in parallel (bulkhead-bounded)."""
        size = pagination.size if isinstance(pagination, PagePagination) else pagination.limit

        def params(index: int) -> tuple[tuple[str, str], ...]:
            if isinstance(pagination, PagePagination):
                return (
                    (pagination.page_param, str(pagination.first_page + index)),
                    (pagination.size_param, str(size)),
                )
            return ((pagination.offset_param, str(index * size)), (pagination.limit_param, str(size)))

        first = await self.fetch_page(operation, params(0), fill)
        items = list(first.items)
        if first.total is not None:
            pages = math.ceil(first.total / size)
            if pages > operation.max_pages:
                raise self._too_many_pages(operation)
            rest = await asyncio.gather(
                *(self.fetch_page(operation, params(i), fill) for i in range(1, pages))
            )
            for page in rest:
                items.extend(page.items)
            if len(items) < first.total:  # e.g. pages capped below `size`: never a silent partial list
                message = (
                    f"read {len(items)} of {first.total} items at {operation.path}: are its pages smaller "
                    f"than size {size}?"
                )
                raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, message)
            return items
        index, page = 0, first
        while len(page.items) >= size:  # no total given: read until a short page
            index += 1
            if index >= operation.max_pages:
                raise self._too_many_pages(operation)
            page = await self.fetch_page(operation, params(index), fill)
            items.extend(page.items)
        return items

    async def _walk_cursor(
        self, operation: Operation, pagination: CursorPagination, fill: Mapping[str, str]
    ) -> list[Any]:
        items: list[Any] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(operation.max_pages):
            params: list[tuple[str, str]] = []
            if pagination.limit_param:
                params.append((pagination.limit_param, str(pagination.limit)))
            if cursor is not None:
                params.append((pagination.cursor_param, cursor))
            page = await self.fetch_page(operation, tuple(params), fill)
            items.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return items
            if cursor in seen:
                raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, "pagination cursor repeats")
            seen.add(cursor)
        raise self._too_many_pages(operation)

    async def _walk_links(self, operation: Operation, fill: Mapping[str, str]) -> list[Any]:
        """Follow each page's link to the next, on the same host only, until a page has none."""
        first = self.build_request(operation, (), fill)
        origin = urlsplit(first.url)
        items: list[Any] = []
        request: UpstreamRequest | None = first
        seen: set[str] = set()
        for _ in range(operation.max_pages):
            assert request is not None
            page = await self._fetch_request(operation, request)
            items.extend(page.items)
            if page.next_link is None:
                return items
            request = self._next_request(first, origin, page.next_link, seen)
        raise self._too_many_pages(operation)

    def _next_request(
        self, first: UpstreamRequest, origin: SplitResult, link: str, seen: set[str]
    ) -> UpstreamRequest:
        """The request for a next link: its own path and query, the first request's headers and auth."""
        target = urlsplit(urljoin(first.url, link))
        if (target.scheme, target.netloc) != (origin.scheme, origin.netloc):
            message = f"next page link leaves the department's host ({target.netloc or link[:60]})"
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, message)
        key = f"{target.path}?{target.query}"
        if key in seen or key == f"{origin.path}?{urlencode(first.params)}":
            raise UpstreamError(
                UpstreamCode.BAD_RESPONSE, self.department, f"next page link repeats ({target.path})"
            )
        seen.add(key)
        url = f"{target.scheme}://{target.netloc}{target.path}"
        return replace(first, url=url, params=tuple(parse_qsl(target.query, keep_blank_values=True)))

    def _too_many_pages(self, operation: Operation) -> UpstreamError:
        return UpstreamError(
            UpstreamCode.BAD_RESPONSE,
            self.department,
            f"more than {operation.max_pages} pages at {operation.path}",
        )

    async def fetch_page(
        self,
        operation: Operation,
        page_params: tuple[tuple[str, str], ...],
        fill: Mapping[str, str] | None = None,
    ) -> Page:
        return await self._fetch_request(operation, self.build_request(operation, page_params, fill or {}))

    async def _fetch_request(self, operation: Operation, request: UpstreamRequest) -> Page:
        pagination = operation.pagination
        fmt = self.spec.format_of(operation)
        auth = self.auth_for(operation)

        async def attempt(timeout: float) -> Page:
            # decoding is part of the attempt: a department answering garbage is failing like one
            # answering 500 (its breaker opens, metrics and traces count it), though never retried
            response = await self.exchange(request, timeout, operation.not_found, auth, fmt)
            if response is None:
                return Page([])
            return decode_page(
                response,
                fmt,
                operation.items,
                self.department,
                total_path=getattr(pagination, "total_path", None),
                cursor_path=getattr(pagination, "next_cursor_path", None),
                next_path=getattr(pagination, "next_path", None),
            )

        page = await self.resilience.call(attempt)
        pages = PAGES.get()
        if pages is not None:
            pages.pages.append(len(page.items))
        return page

    # -- one request -------------------------------------------------------------------------------

    def build_request(
        self, operation: Operation, page_params: Sequence[tuple[str, str]], fill: Mapping[str, str]
    ) -> UpstreamRequest:
        """The request for one page; ``fill`` puts the resident(s) into ``{resident_id}`` and friends."""
        fmt = self.spec.format_of(operation)
        headers = {"Accept": _ACCEPT[fmt.kind], **operation.headers}
        if isinstance(fmt, GraphqlFormat):
            return self._graphql_request(operation, page_params, fill, headers)
        body = None
        if operation.body is not None:
            body = _fill(operation.body, fill).encode()
            if isinstance(fmt, XmlFormat) and fmt.soap is not None:
                headers.setdefault("Content-Type", "text/xml; charset=utf-8")
                headers.setdefault("SOAPAction", f'"{fmt.soap.action}"')
        return UpstreamRequest(
            method=operation.method,
            url=self._base(operation) + _fill(operation.path, fill),
            params=(*((k, _fill(v, fill)) for k, v in operation.params.items()), *page_params),
            headers=headers,
            body=body,
        )

    def _graphql_request(
        self,
        operation: Operation,
        page_params: Sequence[tuple[str, str]],
        fill: Mapping[str, str],
        headers: dict[str, str],
    ) -> UpstreamRequest:
        """One POST of the document; the resident and the paging parameters travel as variables
        (values, never spliced into the document)."""
        variables = {name: filled(value, fill) for name, value in operation.variables.items()}
        variables |= {name: _number_or_text(value) for name, value in page_params}
        body = orjson.dumps({"query": operation.document, "variables": variables})
        return UpstreamRequest(
            method="POST",
            url=self._base(operation) + _fill(operation.path, fill),
            params=tuple((k, _fill(v, fill)) for k, v in operation.params.items()),
            headers={"Content-Type": "application/json", **headers},
            body=body,
        )

    def _base(self, operation: Operation) -> str:
        if operation.base_path is None:
            return self.base_url
        origin = urlsplit(self.base_url)
        return f"{origin.scheme}://{origin.netloc}{operation.base_path.rstrip('/')}"

    async def exchange(
        self,
        request: UpstreamRequest,
        timeout: float,
        not_found: NotFound | None = None,
        auth: Authenticator | None = None,
        fmt: Format | None = None,
    ) -> UpstreamResponse | None:
        """Sign, send, and judge the status; refused credentials (HTTP 401, a 'token expired' code)
        are renewed once, within the same attempt.

        None when the department says it does not know the resident: an answer, not a failure.
        """
        auth = auth or self.auth
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        signed = await auth.sign(request)
        response = await self.transport.send(signed, timeout)
        if auth.refused(response) and auth.unauthorized(signed):
            signed = await auth.sign(request)
            response = await self.transport.send(signed, max(0.001, deadline - loop.time()))
        pages = PAGES.get()
        if pages is not None:
            pages.saw(request, response)
        return response if self.check_status(response, not_found, fmt) else None

    def check_status(
        self, response: UpstreamResponse, not_found: NotFound | None = None, fmt: Format | None = None
    ) -> bool:
        """True for a usable answer, False for "no such resident"; raises for a failure."""
        fmt = fmt or self.spec.format
        if not_found is not None and response.status in not_found.statuses:
            return False
        if response.status == 500 and isinstance(fmt, XmlFormat) and fmt.soap:
            fault = find_soap_fault(response)  # SOAP 1.1 faults come as HTTP 500
            if fault is not None:
                if (
                    not_found is not None
                    and (fault.findtext("faultstring") or "").strip() == not_found.soap_fault
                ):
                    return False
                raise soap_fault_error(fault, self.department)
        error = status_error(response.status, self.department)
        if error is not None:
            raise error
        return True


def _fill(template: str, fill: Mapping[str, str]) -> str:
    # plain replacement, not str.format: bodies are JSON and XML full of braces
    for name, value in fill.items():
        template = template.replace("{" + name + "}", value)
    return template


_ACCEPT = {
    "json": "application/json",
    "xml": "text/xml, application/xml",
    "csv": "text/csv",
    "graphql": "application/graphql-response+json, application/json",
}


def _number_or_text(value: str) -> int | str:
    """Paging values are numbers (first, offset) or opaque text (a cursor)."""
    return int(value) if value.isdigit() else value


def _unique(result: OperationResult[Any]) -> OperationResult[Any]:
    """Pages that shift while being read can repeat an item; keep the first of each id (facts have
    no id of their own: they are told apart by resident; accounts by their key)."""
    seen: dict[str, Any] = {}
    for record in result.records:
        name = getattr(record, "id", None) or getattr(record, "key", None) or record.resident_id
        seen.setdefault(name, record)
    if len(seen) == len(result.records):
        return result
    return OperationResult(tuple(seen.values()), result.problems)
