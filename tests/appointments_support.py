"""What the appointment and application tests share: a station and service, the days to ask for, and
GraphQL documents."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from connectors.mapping import SHANGHAI
from identity.principal import ClientChannel, Role
from identity.tokens import mint
from tests.access_support import SECRET, WORLD, ask
from tests.conftest import Gateway

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
