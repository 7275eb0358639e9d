"""What the appointment and application tests share: a station and service, the days to ask for, and
GraphQL documents."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from config import PROJECT_ROOT
from connectors.mapping import SHANGHAI
from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.server import RunningMocks
from tests.access_support import SECRET, WORLD, ask
from tests.conftest import TEST_NAMESPACE, Gateway
from tests.gateway_process import free_port, wait_healthy

STATION = "ZD-0001"  # Lujiazui: Mon-Fri 09:00-17:00, Sat 09:00-12:00
SERVICE = "GH-003"  # offered there

SLOTS = """query($st: ID!, $sv: ID!, $from: Date, $to: Date) {
  appointmentSlots(stationId: $st, serviceId: $sv, from: $from, to: $to) {
    id stationId serviceId startsAt endsAt capacity booked available
  }
}"""
RESERVE = """mutation($slot: ID!, $resident: ID) {
  reserveAppointment(input: {slotId: $slot, residentId: $resident}) { id slotId stationId status startsAt }
}"""
CANCEL = """mutation($id: ID!, $resident: ID) {
  cancelAppointment(id: $id, residentId: $resident) { id status cancelledAt }
}"""
CAPACITY = """mutation($slot: ID!, $capacity: Int!) {
  setSlotCapacity(slotId: $slot, capacity: $capacity) { id capacity booked available }
}"""
MINE = """query($past: Boolean!) {
  myAppointments(includePast: $past, includeCancelled: true) { id status slotId }
}"""


def next_weekday() -> date:
    """The next Monday-to-Friday day in Shanghai after today: every slot of it is in the future."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def residents(count: int, skip: int = 10) -> list[str]:
    """ID numbers of ``count`` distinct residents of the world (past the fixture ones)."""
    return [r.id_number for r in WORLD.residents[skip : skip + count]]


def operator_token() -> str:
    return mint(SECRET, "operator-1", Role.OPERATOR, channel=ClientChannel.UNKNOWN)


async def slots(gateway: Gateway, token: str | None, day: date | None = None) -> list[dict[str, Any]]:
    day = day or next_weekday()
    body = await ask(
        gateway, token, SLOTS, st=STATION, sv=SERVICE, **{"from": day.isoformat(), "to": day.isoformat()}
    )
    assert not body.get("errors"), body
    found: list[dict[str, Any]] = body["data"]["appointmentSlots"]
    return found


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


START_TIMEOUT_S = 60.0


@asynccontextmanager
async def gateway_processes(
    mocks: RunningMocks, database_url: str, tmp_path: Path, count: int = 2
) -> AsyncIterator[list[str]]:
    """``count`` real gateways (``python server.py``: uvicorn, each on a free port) over one database
    and the mock departments; yields their base URLs."""
    env = dict(os.environ) | {
        "ONESTOP_DATABASE_URL": database_url,
        "ONESTOP_MOCKS_URL": mocks.url,
        "ONESTOP_JWT_SECRET": SECRET,
        "ONESTOP_NAMESPACE": f"{TEST_NAMESPACE}-{tmp_path.name}",
        "ONESTOP_HOST": "127.0.0.1",
        "ONESTOP_TUNE_GC": "false",
    }
    processes: list[asyncio.subprocess.Process] = []
    urls: list[str] = []
    try:
        for _ in range(count):
            port = free_port()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "server.py",
                cwd=PROJECT_ROOT,
                env=env | {"ONESTOP_PORT": str(port)},
                stdout=asyncio.subprocess.DEVNULL,
            )
            processes.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
        await asyncio.gather(*(_wait_ready(url) for url in urls))
        yield urls
    finally:
        await asyncio.gather(*(_stop(p) for p in processes))


async def _wait_ready(url: str) -> None:
    await wait_healthy(url, START_TIMEOUT_S)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
