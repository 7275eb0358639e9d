"""What every extra mock department shares: running alone on a port and counting what it answered.

Each prints ``<name> mock at http://host:port`` first, so a test (or a person) knows where it listens,
and counts its answers by path and status at ``GET /_stats`` (not part of the department's API: it is
how a test sees that a call really reached the department, e.g. after a restart).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

STATS = web.AppKey("stats", dict[str, int])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def counted(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if request.path != "/_stats":
        key = f"{request.method} {request.path} {response.status}"
        request.app[STATS][key] = request.app[STATS].get(key, 0) + 1
    return response


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].copy())


def bounded(raw: str | None, default: int, low: int, high: int) -> int | None:
    """A query parameter as an int in [low, high] (`default` when absent); None when it is not one."""
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


def department_app(routes: list[web.RouteDef]) -> web.Application:
    app = web.Application(middlewares=[counted])
    app[STATS] = {}
    app.add_routes([*routes, web.get("/_stats", stats)])
    return app


async def serve(app: web.Application, name: str, host: str, port: int) -> None:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    print(f"{name} mock at http://{host}:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(
    module: str,
    description: str,
    create_app: Callable[[], web.Application],
    default_port: int,
    argv: list[str] | None,
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m mocks.extra.{module}", description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port, help="0 = any free port")
    args = parser.parse_args(argv)
    asyncio.run(serve(create_app(), module, args.host, args.port))
