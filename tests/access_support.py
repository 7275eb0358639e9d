"""What the resident-view tests share: a gateway that accepts HS256 tokens, tokens for the seeded
residents and for staff, and GraphQL helpers that check the refusal is typed."""

from __future__ import annotations

from typing import Any

from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.world import DEFAULT_SEED, FIXTURE_RESIDENTS, Resident, build_world
from tests.conftest import Gateway, GatewayFactory

SECRET = "resident-tests-secret-of-32-bytes-or-more"
WORLD = build_world(DEFAULT_SEED)
STATION = "ST-0001"


def fixture(name: str) -> Resident:
    return WORLD.residents[FIXTURE_RESIDENTS[name]]


def resident_token(resident: Resident | str, channel: ClientChannel | None = ClientChannel.APP) -> str:
    subject = resident if isinstance(resident, str) else resident.id_number
    return mint(SECRET, subject, Role.RESIDENT, channel=channel)


def staff_token(subject: str = "staff-0001", station: str = STATION) -> str:
    return mint(SECRET, subject, Role.STAFF, station=station, channel=ClientChannel.COUNTER)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def resident_gateway(make_gateway: GatewayFactory, **settings: Any) -> Gateway:
    return await make_gateway(jwt_secret=SECRET, **settings)


async def ask(gateway: Gateway, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
    headers = bearer(token) if token else {}
    response = await gateway.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def refused(body: dict[str, Any], code: str) -> None:
    """Refused with exactly ``code`` and no personal data in the answer."""
    assert codes(body) and set(codes(body)) == {code}, body
    assert "INTERNAL_SERVER_ERROR" not in codes(body)


async def my_id(gateway: Gateway, token: str) -> str:
    body = await ask(gateway, token, "{ me { id } }")
    assert not body.get("errors"), body
    return str(body["data"]["me"]["id"])


async def start_session(
    gateway: Gateway, staff: str, resident: Resident, purposes: list[str], minutes: int = 30
) -> dict[str, Any]:
    body = await ask(
        gateway,
        staff,
        """mutation($n: String!, $p: [AccessPurpose!]!, $m: Int!) {
          startAssistedSession(idNumber: $n, purposes: $p, minutes: $m) {
            id residentId status purposes expiresAt
          }
        }""",
        n=resident.id_number,
        p=purposes,
        m=minutes,
    )
    assert not body.get("errors"), body
    session: dict[str, Any] = body["data"]["startAssistedSession"]
    return session


async def consent(gateway: Gateway, token: str | None, session_id: str) -> dict[str, Any]:
    return await ask(
        gateway,
        token,
        "mutation($id: ID!) { consentToAssistedSession(id: $id) { id status expiresAt consentedAt } }",
        id=session_id,
    )
