"""``onestop audit verify | expire``: check the access log's hash chains, expire old rows, on the store.

Runs against the database directly (``ONESTOP_DATABASE_URL``, and the same ``ONESTOP_ACCESS_LOG_KEY`` /
``ONESTOP_DIGEST_KEY`` as the gateway: without the key nothing can be verified). ``verify`` exits 1 and
prints every break (resident digest, row id, seq, what is wrong) when a chain does not hold.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from access.chain import Report, verify_all, verify_resident
from access.log import AccessLog
from config import Settings
from domain.records import RESIDENT_ID
from identity.digest import Digester
from store.db import create_engine, migrate, session_factory


def add_commands(groups: Any) -> None:
    group = groups.add_parser("audit", help="the access log: verify its hash chains, expire old rows")
    commands = group.add_subparsers(dest="command", required=True, metavar="<command>")
    verify = commands.add_parser("verify", help="check residents' access-log chains (exit 1 if broken)")
    which = verify.add_mutually_exclusive_group()
    which.add_argument("--resident", help="one resident: their digest, or their ID number")
    which.add_argument("--all", action="store_true", help="every resident (the default)")
    verify.set_defaults(run=run_verify)
    expire = commands.add_parser("expire", help="delete rows past the retention, keeping chains verifiable")
    expire.add_argument("--days", type=int, help="default: ONESTOP_ACCESS_LOG_RETENTION_DAYS")
    expire.set_defaults(run=run_expire)


def _resident(settings: Settings, given: str) -> str:
    """A resident's digest: as given, or computed from an ID number with the deployment's digest key."""
    value = given.strip()
    if RESIDENT_ID.match(value.upper()):
        secret = settings.digest_key.get_secret_value() if settings.digest_key else None
        return Digester.from_secrets(secret, settings.resident_secret(), production=False).of(value.upper())
    return value


def run_verify(args: argparse.Namespace) -> int:
    return asyncio.run(_verify(Settings(), args.resident))


async def _verify(settings: Settings, resident: str | None) -> int:
    from services import chain_key  # the gateway's own key: imported here, not for every CLI command

    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    key = chain_key(settings)
    started = time.perf_counter()
    residents = rows = broken = 0
    try:
        await migrate(engine)
        if resident is not None:
            reports: list[Report] = [await verify_resident(sessions, key, _resident(settings, resident))]
        else:
            reports = [report async for report in verify_all(sessions, key)]
    finally:
        await engine.dispose()
    for report in reports:
        residents += 1
        rows += report.rows
        if not report.verified:
            broken += 1
            for where in report.breaks:
                print(f"resident {report.resident}: {where}")
    seconds = time.perf_counter() - started
    verdict = "every chain verifies" if not broken else f"{broken} chains broken"
    print(f"{residents} residents, {rows} rows checked in {seconds:.2f}s: {verdict}", file=sys.stderr)
    if broken and broken == residents > 1:
        print(
            "every chain is broken: is this the gateway's key (ONESTOP_ACCESS_LOG_KEY, else _DIGEST_KEY)?",
            file=sys.stderr,
        )
    return 1 if broken else 0


def run_expire(args: argparse.Namespace) -> int:
    settings = Settings()
    days = settings.access_log_retention_days if args.days is None else args.days
    if days <= 0:
        print("onestop: no retention set (ONESTOP_ACCESS_LOG_RETENTION_DAYS or --days)", file=sys.stderr)
        return 2
    return asyncio.run(_expire(settings, days))


async def _expire(settings: Settings, days: int) -> int:
    from services import chain_key

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        log = AccessLog(session_factory(engine), chain_key(settings))
        expired = await log.expire(datetime.now(UTC) - timedelta(days=days))
    finally:
        await engine.dispose()
    print(f"{expired} access-log rows older than {days} days expired")
    return 0
