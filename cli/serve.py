"""``onestop serve [--workers N]``: the gateway, as one process or N worker processes on one port.

With N > 1 this process binds the port once and starts N workers (``python server.py``'s ``main`` on
that socket, each with its own event loop, pools and lifespan: migrations are locked in the store, so
they may start together); the kernel spreads connections among them. It passes SIGTERM / SIGINT on to
every worker (each drains as ``ONESTOP_DRAIN_S`` says) and waits for them; a worker that dies while
nobody asked it to is started again.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from config import Settings

log = logging.getLogger("onestop.serve")
SUPERVISE_EVERY_S = 0.2
RESTART_PAUSE_S = 1.0  # a worker that dies at once is not restarted in a tight loop


def add_commands(groups: Any) -> None:
    serve = groups.add_parser("serve", help="run the gateway (ONESTOP_* settings), in N worker processes")
    serve.add_argument("--workers", type=int, default=1, help="worker processes sharing the port (1)")
    serve.set_defaults(run=run_serve)
    migrate = groups.add_parser(
        "migrate", help="bring the store to the current schema and register bundled specs, then exit"
    )
    migrate.set_defaults(run=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    """What a deployment runs once before rolling out replicas (a Kubernetes Job): each replica would
    also do it at start (locked, idempotent), but a failed migration then stops the rollout early."""
    import asyncio

    from services import spec_environ
    from store.db import create_engine, migrate, session_factory
    from store.registrations import seed_from_directory

    settings = Settings()

    async def run() -> list[str]:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            return await seed_from_directory(
                session_factory(engine), settings.specs_dir, spec_environ(settings)
            )
        finally:
            await engine.dispose()

    seeded = asyncio.run(run())
    print(f"store migrated; bundled connectors registered: {', '.join(seeded) or 'none new'}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import server

    if args.workers < 1:
        print("onestop: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.workers == 1:
        server.main()
        return 0
    settings = Settings()
    server.refuse_to_start(settings)  # before any worker: one refused would be restarted forever
    sock = bind(settings.host, settings.port)
    port = sock.getsockname()[1]
    print(f"Onestop gateway: http://{settings.host}:{port}/graphql ({args.workers} workers)", flush=True)
    Supervisor(sock, args.workers, settings.drain_seconds + settings.shutdown_grace_s + 10).run()
    return 0


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def worker(sock: socket.socket) -> None:
    """One worker process: the whole gateway (lifespan included) on the shared socket."""
    import server

    server.main(sockets=[sock])


class Supervisor:
    """Starts the workers, forwards stop signals to them, restarts one that died unasked."""

    def __init__(self, sock: socket.socket, count: int, stop_bound_s: float) -> None:
        self.sock = sock
        self.count = count
        self.stop_bound_s = stop_bound_s
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[BaseProcess] = []
        self.stopping: int | None = None  # the signal to pass on, once one came

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.on_signal)
        self.workers = [self.start() for _ in range(self.count)]
        while self.stopping is None:
            time.sleep(SUPERVISE_EVERY_S)
            for index, process in enumerate(self.workers):
                if not process.is_alive() and self.stopping is None:
                    log.error("worker %s exited (%s): starting another", process.pid, process.exitcode)
                    time.sleep(RESTART_PAUSE_S)
                    self.workers[index] = self.start()
        self.stop()

    def start(self) -> BaseProcess:
        process = self.context.Process(target=worker, args=(self.sock,), daemon=False)
        process.start()
        return process

    def on_signal(self, sig: int, frame: FrameType | None) -> None:
        if self.stopping is None:
            self.stopping = sig
        else:  # a second signal: pass it on too (the workers then skip their drain)
            self.forward(sig)

    def forward(self, sig: int) -> None:
        for process in self.workers:
            if process.is_alive() and process.pid is not None:
                _kill(process.pid, sig)

    def stop(self) -> None:
        assert self.stopping is not None
        self.forward(self.stopping)
        deadline = time.monotonic() + self.stop_bound_s
        for process in self.workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("worker %s did not stop in %.0f s: killed", process.pid, self.stop_bound_s)
                process.kill()
                process.join()
        self.sock.close()


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
