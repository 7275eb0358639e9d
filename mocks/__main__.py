"""`python -m mocks`: serve the mock departments until Ctrl-C.

Usage: `python -m mocks [--host 127.0.0.1] [--port 8100] [--seed 20181125] [--only community,hrss]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from mocks.departments import all_departments, select
from mocks.server import start
from mocks.world import DEFAULT_SEED


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ids = ", ".join(d.id for d in all_departments())
    parser = argparse.ArgumentParser(prog="python -m mocks", description="Serve Onestop's mock departments.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port to bind (default 8100; 0 = any free)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"world seed (default {DEFAULT_SEED})")
    parser.add_argument("--only", default=None, help=f"comma-separated departments to serve, of: {ids}")
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="call <url>/<department>, signed, when a case's status is changed through /_admin/cases",
    )
    args = parser.parse_args(argv)
    if args.only is not None:
        args.only = [part.strip() for part in args.only.split(",") if part.strip()]
        try:
            select(args.only)
        except ValueError as exc:
            parser.error(str(exc))
    return args


async def serve(args: argparse.Namespace) -> None:
    """Start, print where everything is, and wait for SIGINT/SIGTERM."""
    mocks = await start(
        host=args.host, port=args.port, seed=args.seed, only=args.only, webhook_url=args.webhook_url
    )
    try:
        print(f"Onestop mock departments (seed {args.seed}) at {mocks.url}", flush=True)
        for department in select(args.only):
            print(
                f"  {department.id:<14} {mocks.url}{department.prefix}/  "
                f"{department.name_en} ({department.name_zh}); "
                f"description {mocks.url}{department.description_path}",
                flush=True,
            )
        print(f"  {'payprovider':<14} {mocks.url}/payprovider/pay/  mock payment provider", flush=True)
        print(f"  {'admin':<14} {mocks.url}/_admin/departments", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await mocks.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
