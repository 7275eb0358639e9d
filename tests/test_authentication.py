"""Who is asking, decided once per request by the authentication middleware and read everywhere.

The token is verified once (HTTP, event streams, the websocket's handshake or its ``connection_init``),
the rate limiter counts by the subject the middleware verified, a forged token is refused on every
transport, and the layers stay one way: nothing in ``schema/`` imports ``middleware/``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from identity.authentication import BearerTokens, Caller, ChannelError, authenticate, caller_of
from identity.digest import Digester
from identity.principal import ClientChannel, Principal, Role
from identity.tokens import TokenError, TokenSettings, TokenVerifier, mint
from middleware.buckets import MemoryBuckets
from middleware.ratelimit import RateLimiter
from tests.conftest import Gateway, GatewayFactory
from tests.live_support import Socket, served

SECRET = "a-test-secret-of-at-least-thirty-two-bytes"
OTHER_SECRET = "another-secret-of-at-least-32-bytes!!"
RESIDENT = "310115195511250019"
QUERY = {"query": "{ __typename }"}
ADMIN_QUERY = "{ connectors { department } }"  # operators only; reads the registry, asks no department
ROOT = Path(__file__).resolve().parent.parent


def operator_token(secret: str = SECRET) -> str:
    return mint(secret, "operator-1", Role.OPERATOR)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the gateway verifies, in order."""
    seen: list[str] = []
    real = TokenVerifier.verify

    async def counting(self: TokenVerifier, token: str) -> Principal:
        seen.append(token)
        return await real(self, token)

    monkeypatch.setattr(TokenVerifier, "verify", counting)
    return seen


async def ws_session(base_url: str, payload: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    url = base_url.replace("http://", "ws://") + "/graphql"
    ws = await websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")], additional_headers=headers
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return ws


async def ws_query(base_url: str, payload: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    """The first answer to ``ADMIN_QUERY`` on a new socket, or the close code if it is refused."""
    ws = await ws_session(base_url, payload, headers)
    socket = Socket(ws)
    try:
        try:
            ack = await socket.receive()
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        assert ack["type"] == "connection_ack", ack
        await socket.subscribe(ADMIN_QUERY)
        return await socket.next_payload()
    finally:
        await ws.close()


async def sse(gateway: Gateway, **headers: str) -> httpx.Response:
    return await gateway.client.post(
        "/graphql/stream", json={"query": ADMIN_QUERY}, headers={"accept": "text/event-stream", **headers}
    )


@pytest.mark.parametrize("limits", [{}, {"rate_limit_client": 100}], ids=["no-rate-limit", "rate-limited"])
async def test_a_token_is_verified_once_per_http_request_and_event_stream(
    make_gateway: GatewayFactory, verifications: list[str], limits: dict[str, Any]
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET, **limits)
    token = operator_token()
    answer = await gateway.client.post(
        "/graphql", json={"query": ADMIN_QUERY}, headers={"authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200 and answer.json()["data"]["connectors"], answer.text
    assert verifications == [token]
    streamed = await sse(gateway, authorization=f"Bearer {token}")
    assert streamed.status_code == 200 and '"connectors"' in streamed.text, streamed.text
    assert verifications == [token, token]


async def test_probes_and_metrics_cost_no_verification(
    make_gateway: GatewayFactory, verifications: list[str]
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    headers = {"authorization": f"Bearer {operator_token()}"}
    for path in ("/healthz", "/metrics"):
        await gateway.client.get(path, headers=headers)
    assert verifications == []  # /metrics has a token of its own, not a JWT


async def test_a_websocket_is_verified_once_from_connection_init_or_its_handshake(
    make_gateway: GatewayFactory, verifications: list[str]
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    token = operator_token()
    async with served(gateway.app) as url:
        # a browser: the token in connection_init (it cannot set a websocket's headers)
        answer = await ws_query(url, {"Authorization": f"Bearer {token}"})
        assert answer["type"] == "next" and answer["payload"]["data"]["connectors"], answer
        assert verifications == [token]
        # a server-side client: the token in the handshake, verified by the middleware
        answer = await ws_query(url, {}, headers={"Authorization": f"Bearer {token}"})
        assert answer["type"] == "next" and answer["payload"]["data"]["connectors"], answer
        assert verifications == [token, token]
        # no token anywhere: anonymous, and the admin field refused with a typed error
        answer = await ws_query(url, {})
        codes = [e["extensions"]["code"] for e in answer["payload"]["errors"]]
        assert codes and set(codes) <= {"UNAUTHENTICATED", "FORBIDDEN"}, answer
        assert verifications == [token, token]


async def test_a_forged_token_is_refused_on_every_transport(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    forged = f"Bearer {operator_token(OTHER_SECRET)}"
    http = await gateway.client.post("/graphql", json=QUERY, headers={"authorization": forged})
    assert http.status_code == 401 and http.headers["www-authenticate"].startswith("Bearer")
    assert http.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    stream = await sse(gateway, authorization=forged)
    assert stream.status_code == 401 and stream.headers["www-authenticate"].startswith("Bearer")
    assert stream.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with served(gateway.app) as url:
        assert await ws_query(url, {"Authorization": forged}) == 4403
        assert await ws_query(url, {}, headers={"Authorization": forged}) == 4403


async def test_a_refusal_still_answers_in_the_negotiated_media_type(make_gateway: GatewayFactory) -> None:
    """The middleware records the refusal; the view answers it after content negotiation, as before."""
    gateway = await make_gateway(jwt_secret=SECRET)
    forged = f"Bearer {operator_token(OTHER_SECRET)}"
    typed = "application/graphql-response+json"
    answer = await gateway.client.post(
        "/graphql", json=QUERY, headers={"authorization": forged, "accept": typed}
    )
    assert answer.status_code == 401 and answer.headers["content-type"].startswith(typed)
    unacceptable = await gateway.client.post(
        "/graphql", json=QUERY, headers={"authorization": forged, "accept": "text/csv"}
    )
    assert unacceptable.status_code == 406


async def test_forged_tokens_count_against_their_address(make_gateway: GatewayFactory) -> None:
    """Refusing in the endpoint, after the rate limiter, keeps a flood of forged tokens limited."""
    gateway = await make_gateway(jwt_secret=SECRET, rate_limit_client=1, rate_limit_client_burst=2)
    transport = httpx.ASGITransport(app=gateway.app, client=("10.9.0.1", 40000))
    forged = {"authorization": f"Bearer {operator_token(OTHER_SECRET)}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://onestop.test") as client:
        codes = [(await client.post("/graphql", json=QUERY, headers=forged)).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def scope_with(user: object, address: str = "10.0.0.7") -> dict[str, Any]:
    return {"type": "http", "path": "/graphql", "headers": [], "client": (address, 1), "user": user}


def test_the_rate_limiter_keys_by_the_callers_verified_subject_not_a_header() -> None:
    digester = Digester.ephemeral()
    limiter = RateLimiter(MemoryBuckets(), "test", client_rate=1, digester=digester)
    principal = Principal(RESIDENT, Role.RESIDENT, ClientChannel.KIOSK)
    # no Authorization header at all: the limiter reads the middleware's verdict, never the token
    client = limiter.identify(scope_with(Caller(principal, ClientChannel.KIOSK)))
    assert client.client == f"sub-{digester.of(RESIDENT)}" and client.channel is ClientChannel.KIOSK
    refused = Caller(None, ClientChannel.APP, TokenError("the token has expired"))
    client = limiter.identify(scope_with(refused))
    assert client.client == f"ip-{digester.of('10.0.0.7')}" and client.channel is ClientChannel.APP


def test_without_the_middleware_nobody_is_silently_anonymous() -> None:
    with pytest.raises(RuntimeError, match="no authentication"):
        caller_of({"type": "http", "path": "/graphql"})


async def test_authenticate_settles_principal_channel_and_refusal() -> None:
    verifier = TokenVerifier(TokenSettings(secret=SECRET))
    kiosk = mint(SECRET, "kiosk-1", Role.STAFF, channel=ClientChannel.KIOSK, station="PD-001")
    caller = await authenticate(verifier, f"Bearer {kiosk}", "app")
    assert caller.is_authenticated and caller.require()[1] is ClientChannel.KIOSK  # the token's channel
    assert caller.display_name == "staff" and "kiosk-1" not in repr(caller.display_name)
    assert caller.scopes == ["authenticated", "staff"]
    anonymous = await authenticate(verifier, None, "wechat")
    assert anonymous.require() == (None, ClientChannel.WECHAT) and not anonymous.is_authenticated
    with pytest.raises(ChannelError):  # an unknown channel is told before a bad token
        (await authenticate(verifier, "Basic eDp5", "fax")).require()
    with pytest.raises(TokenError, match="Bearer"):
        (await authenticate(verifier, "Basic eDp5", None)).require()
    with pytest.raises(TokenError, match="accepts no tokens"):
        (await authenticate(None, f"Bearer {kiosk}", None)).require()


async def test_the_backend_leaves_other_paths_to_starlettes_anonymous_user() -> None:
    from starlette.requests import HTTPConnection

    backend = BearerTokens(TokenVerifier(TokenSettings(secret=SECRET)), {"/graphql"})
    headers = [(b"authorization", f"Bearer {operator_token()}".encode())]
    assert (
        await backend.authenticate(HTTPConnection({"type": "http", "path": "/metrics", "headers": headers}))
        is None
    )
    found = await backend.authenticate(
        HTTPConnection({"type": "http", "path": "/graphql", "headers": headers})
    )
    assert (
        found is not None
        and isinstance(found[1], Caller)
        and found[0].scopes == ["authenticated", "operator"]
    )


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_schema_imports_nothing_from_middleware() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imports_of(path) if m.split(".")[0] == "middleware")
        for path in (ROOT / "schema").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_two_modules_of_schema_middleware_identity_import_each_other() -> None:
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for package in ("schema", "middleware", "identity")
        for path in (ROOT / package).rglob("*.py")
    }
    graph = {name: imports_of(path) & modules.keys() for name, path in modules.items()}
    mutual = sorted((a, b) for a, deps in graph.items() for b in deps if a < b and a in graph.get(b, set()))
    assert mutual == []
    # identity sits at the bottom: it imports nothing of the gateway's upper layers
    upper = {"schema", "middleware", "resolvers", "server", "access", "connectors"}
    assert {m for name in modules if name.startswith("identity") for m in graph[name]} <= set(
        n for n in modules if n.startswith("identity")
    )
    assert not any(m.split(".")[0] in upper for m in imports_of(ROOT / "identity" / "authentication.py"))


def test_the_event_stream_reservation_header_is_one_the_cors_policy_allows() -> None:
    from middleware.stack import CORS_HEADERS, RESERVATION_HEADER
    from schema.sse import RESERVATION_HEADER as STREAM_HEADER

    assert STREAM_HEADER == RESERVATION_HEADER and STREAM_HEADER in CORS_HEADERS
