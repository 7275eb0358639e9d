"""Fault injection, request statistics and the `/_admin` API.

The gateway's resilience (timeouts, retries, circuit breakers, partial results) can only be tested
against upstreams that misbehave on demand.  Each mounted department has a `FaultState`, changed
through `/_admin/faults/{department}`; one middleware applies it to every request under the
department's prefix, after counting the request in the statistics that tests and the benchmark use to
count upstream calls.  `/_admin` itself is never faulted or counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict

from mocks.departments import Department, Mounted

ADMIN_PREFIX = "/_admin"
#: Upper bound for `latency_ms` and `drip_ms`: an hour is "forever" for any test, and keeps sleeps finite.
MAX_MS = 3_600_000
#: `drip_ms` sends the body in chunks of this many bytes, pausing between them.
DRIP_CHUNK_BYTES = 512
DEFAULT_HANG_LIMIT_S = 30.0


class FaultError(ValueError):
    """A fault update that must be refused with 400."""


@dataclass(frozen=True)
class FaultState:
    """How one department misbehaves right now.  The default is a healthy department."""

    latency_ms: int = 0
    error_rate: float = 0.0
    hang: bool = False
    malformed: bool = False
    down: bool = False
    drip_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def patched(self, patch: object) -> FaultState:
        """A copy with the fields of a `PUT /_admin/faults/{department}` body applied.

        Every field is optional; unknown fields and bad values raise `FaultError` so a typo in a
        test never silently leaves a department healthy.
        """
        if not isinstance(patch, dict):
            raise FaultError("body must be a JSON object")
        unknown = sorted(set(patch) - set(self.to_json()))
        if unknown:
            raise FaultError(f"unknown field(s): {', '.join(unknown)}")
        return FaultState(
            latency_ms=_milliseconds(patch, "latency_ms", self.latency_ms),
            error_rate=_share(patch, "error_rate", self.error_rate),
            hang=_flag(patch, "hang", self.hang),
            malformed=_flag(patch, "malformed", self.malformed),
            down=_flag(patch, "down", self.down),
            drip_ms=_milliseconds(patch, "drip_ms", self.drip_ms),
        )


def _milliseconds(patch: Mapping[str, object], name: str, current: int) -> int:
    value = patch.get(name, current)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MS:
        raise FaultError(f"{name} must be an integer between 0 and {MAX_MS}")
    return value


def _share(patch: Mapping[str, object], name: str, current: float) -> float:
    value = patch.get(name, current)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise FaultError(f"{name} must be a number between 0 and 1")
    return float(value)


def _flag(patch: Mapping[str, object], name: str, current: bool) -> bool:
    value = patch.get(name, current)
    if not isinstance(value, bool):
        raise FaultError(f"{name} must be true or false")
    return value


@dataclass
class Runtime:
    """A mounted department together with its live fault state and counters."""

    department: Department
    mounted: Mounted
    seed: int
    faults: FaultState = field(default_factory=FaultState)
    requests: int = 0
    paths: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """Restart the error-rate dice, so which requests fail is reproducible after every change."""
        self.rng = random.Random(f"{self.seed}:{self.department.id}")

    def count(self, path: str) -> None:
        self.requests += 1
        self.paths[path] = self.paths.get(path, 0) + 1

    def stats_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "paths": dict(sorted(self.paths.items()))}

    def clear_stats(self) -> None:
        self.requests = 0
        self.paths = {}

    def set_faults(self, faults: FaultState) -> None:
        self.faults = faults
        self.reseed()


class Board:
    """All runtimes of one app plus the shutdown signal that releases hanging requests."""

    def __init__(self, runtimes: Iterable[Runtime], hang_limit_s: float = DEFAULT_HANG_LIMIT_S) -> None:
        self.runtimes: dict[str, Runtime] = {r.department.id: r for r in runtimes}
        self.hang_limit_s = hang_limit_s
        self._stopping = asyncio.Event()
        #: Also run by reset (the registered webhook URL is forgotten, for one)
        self.reset_hooks: list[Callable[[], None]] = []

    def owner(self, path: str) -> Runtime | None:
        """The department serving `path`, or `None` (admin and unknown paths)."""
        for runtime in self.runtimes.values():
            if runtime.department.owns(path):
                return runtime
        return None

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds`, but wake at once when the server shuts down so stop() stays fast."""
        if seconds <= 0 or self._stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def on_shutdown(self, _app: web.Application) -> None:
        self._stopping.set()

    def clear_faults(self) -> None:
        for runtime in self.runtimes.values():
            runtime.set_faults(FaultState())

    def clear_stats(self) -> None:
        for runtime in self.runtimes.values():
            runtime.clear_stats()

    def reset(self) -> None:
        """Faults, stats and credentials back to how the server started."""
        self.clear_faults()
        self.clear_stats()
        for runtime in self.runtimes.values():
            runtime.mounted.reset()
            if runtime.mounted.case_status is not None:  # cases moved through /_admin/cases
                runtime.mounted.case_status.reset()
        for hook in self.reset_hooks:
            hook()


def _drop_connection(request: web.Request) -> web.Response:
    """Close the socket without a byte of response.

    aiohttp then fails to write the returned placeholder, treats it as a client disconnect and
    moves on quietly; the client sees the connection closed (ServerDisconnectedError).
    """
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=503)


async def _drip(
    request: web.Request, response: web.Response, body: bytes, pause_ms: int, board: Board
) -> web.StreamResponse:
    """Send `body` in `DRIP_CHUNK_BYTES` pieces with `pause_ms` between them (headers first)."""
    stream = web.StreamResponse(
        status=response.status, reason=response.reason, headers=CIMultiDict(response.headers)
    )
    stream.content_length = len(body)
    await stream.prepare(request)
    for start in range(0, len(body), DRIP_CHUNK_BYTES):
        if start:
            await board.pause(pause_ms / 1000)
        await stream.write(body[start : start + DRIP_CHUNK_BYTES])
    await stream.write_eof()
    return stream


def fault_middleware(board: Board) -> Middleware:
    """The middleware counting department requests and applying their faults, in this order:
    count, down, latency, hang, error_rate (or the real handler), malformed, drip."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        runtime = board.owner(request.path)
        if runtime is None:
            return await handler(request)
        runtime.count(request.path)
        faults = runtime.faults
        if faults.down:
            return _drop_connection(request)
        await board.pause(faults.latency_ms / 1000)
        if faults.hang:
            await board.pause(board.hang_limit_s)
            return web.Response(status=504, text="504 Gateway Timeout", content_type="text/plain")
        if faults.error_rate and runtime.rng.random() < faults.error_rate:
            response: web.StreamResponse = runtime.mounted.fail()
        else:
            response = await handler(request)
        if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
            return response
        body = response.body
        if faults.malformed and 200 <= response.status < 300:
            body = runtime.mounted.malform(body)
            response.body = body
        if faults.drip_ms:
            return await _drip(request, response, body, faults.drip_ms, board)
        return response

    return middleware


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


class AdminApi:
    """`/_admin`: list departments, set and clear faults, read and reset stats, expire tokens."""

    def __init__(self, board: Board) -> None:
        self._board = board

    def routes(self) -> list[web.RouteDef]:
        p = ADMIN_PREFIX
        return [
            web.get(f"{p}/departments", self.departments),
            web.get(f"{p}/faults", self.faults),
            web.delete(f"{p}/faults", self.clear_faults),
            web.put(f"{p}/faults/{{department}}", self.set_faults),
            web.delete(f"{p}/faults/{{department}}", self.clear_department_faults),
            web.get(f"{p}/stats", self.stats),
            web.delete(f"{p}/stats", self.clear_stats),
            web.post(f"{p}/tokens/expire", self.expire_tokens),
            web.post(f"{p}/reset", self.reset),
        ]

    def _runtime(self, request: web.Request) -> Runtime | None:
        return self._board.runtimes.get(request.match_info["department"])

    async def departments(self, request: web.Request) -> web.StreamResponse:
        base = f"{request.scheme}://{request.host}"
        return _json(
            [
                {
                    "id": d.id,
                    "name_zh": d.name_zh,
                    "name_en": d.name_en,
                    "prefix": d.prefix,
                    "capabilities": list(d.capabilities),
                    "description_url": base + d.description_path,
                }
                for d in (r.department for r in self._board.runtimes.values())
            ]
        )

    async def faults(self, _request: web.Request) -> web.StreamResponse:
        return _json({i: r.faults.to_json() for i, r in self._board.runtimes.items()})

    async def clear_faults(self, request: web.Request) -> web.StreamResponse:
        self._board.clear_faults()
        return await self.faults(request)

    async def set_faults(self, request: web.Request) -> web.StreamResponse:
        runtime = self._runtime(request)
        if runtime is None:
            return _error(404, f"unknown department: {request.match_info['department']}")
        try:
            patch = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return _error(400, "body must be JSON")
        try:
            runtime.set_faults(runtime.faults.patched(patch))
        except FaultError as exc:
            return _error(400, str(exc))
        return _json(runtime.faults.to_json())

    async def clear_department_faults(self, request: web.Request) -> web.StreamResponse:
        runtime = self._runtime(request)
        if runtime is None:
            return _error(404, f"unknown department: {request.match_info['department']}")
        runtime.set_faults(FaultState())
        return _json(runtime.faults.to_json())

    async def stats(self, _request: web.Request) -> web.StreamResponse:
        return _json({i: r.stats_json() for i, r in self._board.runtimes.items()})

    async def clear_stats(self, request: web.Request) -> web.StreamResponse:
        self._board.clear_stats()
        return await self.stats(request)

    async def expire_tokens(self, _request: web.Request) -> web.StreamResponse:
        expired = sum(r.mounted.expire_tokens() for r in self._board.runtimes.values())
        return _json({"expired": expired})

    async def reset(self, _request: web.Request) -> web.StreamResponse:
        self._board.reset()
        return _json({"reset": True})
