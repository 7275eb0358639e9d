"""The seam between policy and wire: one department's requests in, raw responses out.

Like httpx's ``BaseTransport``: the resilience layer above decides *whether and when* to send; a transport
only knows *how*. Each department gets its own pooled aiohttp ``ClientSession``, opened once and reused,
so a slow department's connections never starve another's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from connectors.errors import UpstreamCode, UpstreamError
from observability.context import REQUEST_ID, REQUEST_ID_HEADER, TRACE_HEADERS


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    content_type: str
    charset: str | None


class Transport(Protocol):
    async def send(self, request: UpstreamRequest, timeout: float) -> UpstreamResponse: ...

    async def close(self) -> None: ...


class AiohttpTransport:
    """Sends over one pooled ``ClientSession``; turns network failures into typed ``UpstreamError``."""

    def __init__(self, department: str, pool_size: int, max_body_bytes: int) -> None:
        self.department = department
        self.max_body_bytes = max_body_bytes
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=pool_size, ttl_dns_cache=300),
            # Departments' cookies must not leak between residents' requests.
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
            auto_decompress=True,
        )

    async def send(self, request: UpstreamRequest, timeout: float) -> UpstreamResponse:
        headers = request.headers
        request_id = REQUEST_ID.get()
        if request_id is not None:
            headers = {**headers, REQUEST_ID_HEADER: request_id}
        trace = TRACE_HEADERS.get()
        if trace:
            headers = {**headers, **trace}
        try:
            async with asyncio.timeout(timeout):
                async with self._session.request(
                    request.method,
                    request.url,
                    params=request.params or None,
                    headers=headers,
                    data=request.body,
                    allow_redirects=False,
                ) as response:
                    body = await self._read_bounded(response)
                    return UpstreamResponse(
                        status=response.status,
                        headers=response.headers,
                        body=body,
                        content_type=response.content_type,
                        charset=response.charset,
                    )
        except TimeoutError as exc:
            raise UpstreamError(
                UpstreamCode.TIMEOUT, self.department, f"no answer within {timeout:.1f}s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                UpstreamCode.UNAVAILABLE, self.department, f"connection failed ({type(exc).__name__})"
            ) from exc

    async def _read_bounded(self, response: aiohttp.ClientResponse) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self.max_body_bytes:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65_536):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> UpstreamError:
        return UpstreamError(
            UpstreamCode.BAD_RESPONSE, self.department, f"response larger than {self.max_body_bytes} bytes"
        )

    async def close(self) -> None:
        await self._session.close()
