"""Assemble the mock departments into one aiohttp app and run it on a real socket.

Everything is served from one port, each department under its prefix, with `/_admin` alongside.  Tests
and the benchmark call `start(port=0)` inside their own event loop and talk real HTTP to the result, so
the gateway is exercised through exactly the stack it uses in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from mocks.case_status import CaseStatusApi, WebhookSender
from mocks.departments import select
from mocks.faults import DEFAULT_HANG_LIMIT_S, AdminApi, Board, Runtime, fault_middleware
from mocks.fixtures_api import FixturesApi
from mocks.payprovider import mount as mount_payprovider
from mocks.world import DEFAULT_SEED, World, build_world

BOARD = web.AppKey("board", Board)
WORLD = web.AppKey("world", World)

#: How long stop() waits for in-flight requests (hangs and drips are released at once anyway).
SHUTDOWN_TIMEOUT_S = 2.0


def create_app(
    seed: int = DEFAULT_SEED,
    only: Sequence[str] | None = None,
    *,
    hang_limit_s: float = DEFAULT_HANG_LIMIT_S,
    webhook_url: str | None = None,
) -> web.Application:
    """The app serving the departments in `only` (all when `None`) over the world of `seed`.

    `hang_limit_s` is how long a `hang` fault holds a request before answering 504; tests shrink it.
    """
    world = build_world(seed)
    runtimes = [Runtime(department=d, mounted=d.build(world), seed=seed) for d in select(only)]
    board = Board(runtimes, hang_limit_s=hang_limit_s)
    app = web.Application(middlewares=[fault_middleware(board)])
    app[BOARD] = board
    app[WORLD] = world
    for runtime in runtimes:
        app.add_routes(runtime.mounted.routes)
    app.add_routes(AdminApi(board).routes())
    app.add_routes(FixturesApi(world).routes())  # residents to mint demo tokens for
    # cases that move on request, and the signed webhook calls telling the gateway (mock-departments.md)
    webhooks = WebhookSender(url=webhook_url)
    board.reset_hooks.append(lambda: setattr(webhooks, "url", webhook_url))
    boards = {
        i: r.mounted.case_status for i, r in board.runtimes.items() if r.mounted.case_status is not None
    }
    app.add_routes(CaseStatusApi(boards, webhooks).routes())
    mount_payprovider(app, board.reset_hooks)  # the payment provider bills are paid through
    app.on_shutdown.append(board.on_shutdown)
    return app


@dataclass
class RunningMocks:
    """A started mock server.  `url` has no trailing slash: `f"{mocks.url}/community/..."`."""

    url: str
    port: int
    app: web.Application
    runner: web.AppRunner

    async def stop(self) -> None:
        """Stop listening, release hanging requests and close every connection."""
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningMocks:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def start(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = DEFAULT_SEED,
    only: Sequence[str] | None = None,
    *,
    hang_limit_s: float = DEFAULT_HANG_LIMIT_S,
    webhook_url: str | None = None,
) -> RunningMocks:
    """Serve the mocks on `host:port` (0 picks a free port) in the running event loop."""
    app = create_app(seed, only, hang_limit_s=hang_limit_s, webhook_url=webhook_url)
    # handler_cancellation: a client that gives up (timeout tests) frees its handler at once.
    runner = web.AppRunner(
        app,
        handle_signals=False,
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        access_log=None,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_port = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    shown_host = f"[{host}]" if ":" in host else host
    return RunningMocks(url=f"http://{shown_host}:{bound_port}", port=bound_port, app=app, runner=runner)
