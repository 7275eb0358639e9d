"""What the activity tests share: documents, a station its staff work at, and helpers to offer an
activity and read sign-ups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from connectors.mapping import SHANGHAI
from tests.access_support import ask, staff_token
from tests.appointments_support import STATION, error_codes
from tests.conftest import Gateway

STAFF = staff_token("staff-activities", STATION)
CREATE = """mutation($input: CreateActivityInput!) {
  createActivity(input: $input) {
    id stationId titleZh titleEn kind host startsAt endsAt places taken available status
  }
}"""
SIGN_UP = """mutation($activity: ID!, $resident: ID) {
  signUpForActivity(input: {activityId: $activity, residentId: $resident}) {
    id status waitingAhead promotedAt activity { id taken available }
  }
}"""
CANCEL = """mutation($id: ID!, $resident: ID) {
  cancelActivitySignUp(id: $id, residentId: $resident) { id status cancelledAt activity { taken } }
}"""
MINE = """{ me { activities(includeCancelled: true) {
  id status waitingAhead promotedAt activity { id titleEn }
} } }"""
REPORT = """mutation($id: ID!) {
  reportVolunteerHours(activityId: $id) { hours state reportedAt activity { id status host } }
}"""
STATIONS = """query($first: Int) {
  stations(near: {latitude: 31.2426, longitude: 121.5078}, maxWalkMinutes: 30, first: $first) {
    station { id activities(first: 3) { id titleEn places taken available } }
  }
}"""


def offer(places: int = 10, starts_in: timedelta = timedelta(days=2), **changes: Any) -> dict[str, Any]:
    start = (datetime.now(SHANGHAI) + starts_in).replace(microsecond=0)
    return {
        "stationId": STATION,
        "titleZh": "雨伞维修",
        "titleEn": "Umbrella repair",
        "kind": "VOLUNTEER_SERVICE",
        "startsAt": start.isoformat(),
        "endsAt": (start + timedelta(hours=1, minutes=30)).isoformat(),
        "places": places,
    } | changes


async def create(gateway: Gateway, token: str = STAFF, **changes: Any) -> dict[str, Any]:
    body = await ask(gateway, token, CREATE, input=offer(**changes))
    assert not body.get("errors"), body
    created: dict[str, Any] = body["data"]["createActivity"]
    return created


def outcome(body: dict[str, Any]) -> str:
    """SIGNED_UP / WAITING, or the one error code."""
    if body.get("data") and body["data"].get("signUpForActivity"):
        return str(body["data"]["signUpForActivity"]["status"])
    codes = error_codes(body)
    assert len(codes) == 1, body
    return str(codes[0])


def move_clock(gateway: Gateway, by: timedelta) -> None:
    """The gateway's activities see a later time (tests control time)."""
    service = gateway.services.activities
    clock: Callable[[], datetime] = service.clock
    service.clock = lambda: clock() + by
