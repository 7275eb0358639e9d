"""A department adapter driven by its spec: builds requests, walks pages, decodes, maps.

Most departments need nothing but a spec; an odd one can subclass ``SpecAdapter`` and override one
step (``exchange``, ``fetch_page``) without touching the resilience layer around it.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from connectors.auth import Authenticator
from connectors.cache import Entry
from connectors.errors import UpstreamCode, UpstreamError, status_error
from connectors.formats import Page, decode_page, find_soap_fault, reader_for
from connectors.mapping import map_records
from connectors.records import OperationResult, ServiceRecord, StationRecord
from connectors.resilience import CachePolicy, Fetched, Resilience
from connectors.spec import (
    ConnectorSpec,
    CursorPagination,
    NoPagination,
    OffsetPagination,
    Operation,
    PagePagination,
    XmlFormat,
)
from connectors.transport import Transport, UpstreamRequest, UpstreamResponse

R = TypeVar("R")

ENTRY_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "catalog": TypeAdapter(Entry[OperationResult[ServiceRecord]]),
    "stations": TypeAdapter(Entry[OperationResult[StationRecord]]),
}


def spec_fingerprint(spec: ConnectorSpec) -> str:
    """Part of every cache key: a changed spec never serves what the old one cached."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:12]


class SpecAdapter(Generic[R]):
    def __init__(
        self, spec: ConnectorSpec, transport: Transport, resilience: Resilience, auth: Authenticator
    ) -> None:
        self.spec = spec
        self.transport = transport
        self.resilience = resilience
        self.auth = auth
        self.fingerprint = spec_fingerprint(spec)
        self.base_url = spec.base_url.rstrip("/")

    @property
    def department(self) -> str:
        return self.spec.id

    async def catalog(self) -> Fetched[OperationResult[ServiceRecord]]:
        return await self.run("catalog")

    async def stations(self) -> Fetched[OperationResult[StationRecord]]:
        return await self.run("stations")

    async def run(self, capability: str) -> Fetched[Any]:
        operation = self.spec.operations.get(capability)  # type: ignore[call-overload]
        if operation is None:
            raise LookupError(f"{self.department} has no {capability} operation")
        policy = CachePolicy(operation.cache_ttl_s, operation.stale_ttl_s, operation.public)
        key = f"{self.department}:{self.fingerprint}:{capability}"
        return await self.resilience.cached(
            key, policy, ENTRY_ADAPTERS[capability], lambda: self.fetch_all(capability, operation)
        )

    # -- pages -------------------------------------------------------------------------------------

    async def fetch_all(self, capability: str, operation: Operation) -> OperationResult[Any]:
        items = await self.fetch_items(operation)
        result = map_records(items, reader_for(self.spec.format), operation, capability, self.department)
        if not result.records and result.problems:
            raise UpstreamError(
                UpstreamCode.BAD_RESPONSE,
                self.department,
                f"no usable {capability} item: {result.problems[0]}",
            )
        return _unique(result)

    async def fetch_items(self, operation: Operation) -> list[Any]:
        pagination = operation.pagination
        if isinstance(pagination, NoPagination):
            return list((await self.fetch_page(operation, ())).items)
        if isinstance(pagination, CursorPagination):
            return await self._walk_cursor(operation, pagination)
        return await self._walk_numbered(operation, pagination)

    async def _walk_numbered(
        self, operation: Operation, pagination: PagePagination | OffsetPagination
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

        first = await self.fetch_page(operation, params(0))
        items = list(first.items)
        if first.total is not None:
            pages = math.ceil(first.total / size)
            if pages > operation.max_pages:
                raise self._too_many_pages(operation)
            rest = await asyncio.gather(*(self.fetch_page(operation, params(i)) for i in range(1, pages)))
            for page in rest:
                items.extend(page.items)
            return items
        index, page = 0, first
        while len(page.items) >= size:  # no total given: read until a short page
            index += 1
            if index >= operation.max_pages:
                raise self._too_many_pages(operation)
            page = await self.fetch_page(operation, params(index))
            items.extend(page.items)
        return items

    async def _walk_cursor(self, operation: Operation, pagination: CursorPagination) -> list[Any]:
        items: list[Any] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(operation.max_pages):
            params: list[tuple[str, str]] = []
            if pagination.limit_param:
                params.append((pagination.limit_param, str(pagination.limit)))
            if cursor is not None:
                params.append((pagination.cursor_param, cursor))
            page = await self.fetch_page(operation, tuple(params))
            items.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return items
            if cursor in seen:
                raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, "pagination cursor repeats")
            seen.add(cursor)
        raise self._too_many_pages(operation)

    def _too_many_pages(self, operation: Operation) -> UpstreamError:
        return UpstreamError(
            UpstreamCode.BAD_RESPONSE,
            self.department,
            f"more than {operation.max_pages} pages at {operation.path}",
        )

    async def fetch_page(self, operation: Operation, page_params: tuple[tuple[str, str], ...]) -> Page:
        request = self.build_request(operation, page_params)
        response = await self.resilience.call(lambda timeout: self.exchange(request, timeout))
        pagination = operation.pagination
        return decode_page(
            response,
            self.spec.format,
            operation.items,
            self.department,
            total_path=getattr(pagination, "total_path", None),
            cursor_path=getattr(pagination, "next_cursor_path", None),
        )

    # -- one request -------------------------------------------------------------------------------

    def build_request(self, operation: Operation, page_params: Sequence[tuple[str, str]]) -> UpstreamRequest:
        headers = {"Accept": _ACCEPT[self.spec.format.kind], **operation.headers}
        body = None
        if operation.body is not None:
            body = operation.body.encode()
            fmt = self.spec.format
            if isinstance(fmt, XmlFormat) and fmt.soap is not None:
                headers.setdefault("Content-Type", "text/xml; charset=utf-8")
                headers.setdefault("SOAPAction", f'"{fmt.soap.action}"')
        return UpstreamRequest(
            method=operation.method,
            url=self.base_url + operation.path,
            params=(*operation.params.items(), *page_params),
            headers=headers,
            body=body,
        )

    async def exchange(self, request: UpstreamRequest, timeout: float) -> UpstreamResponse:
        """Sign, send, and judge the status; a refused token is renewed once, within the same attempt."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        response = await self.transport.send(await self.auth.sign(request), timeout)
        if response.status == 401 and self.auth.unauthorized():
            response = await self.transport.send(
                await self.auth.sign(request), max(0.001, deadline - loop.time())
            )
        self.check_status(response)
        return response

    def check_status(self, response: UpstreamResponse) -> None:
        if response.status == 500 and isinstance(self.spec.format, XmlFormat) and self.spec.format.soap:
            fault = find_soap_fault(response, self.department)  # SOAP 1.1 faults come as HTTP 500
            if fault is not None:
                raise fault
        error = status_error(response.status, self.department)
        if error is not None:
            raise error


_ACCEPT = {"json": "application/json", "xml": "text/xml, application/xml", "csv": "text/csv"}


def _unique(result: OperationResult[Any]) -> OperationResult[Any]:
    """Pages that shift while being read can repeat an item; keep the first of each id."""
    seen: dict[str, Any] = {}
    for record in result.records:
        seen.setdefault(record.id, record)
    if len(seen) == len(result.records):
        return result
    return OperationResult(tuple(seen.values()), result.problems)
