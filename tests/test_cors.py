"""CORS: only the configured browser origins may call /graphql, refusals included."""

from __future__ import annotations

from tests.conftest import Gateway, GatewayFactory

ALLOWED = "https://app.pudong.gov.cn"
OTHER = "https://evil.example"
QUERY = {"query": "{ __typename }"}


async def cors_gateway(make_gateway: GatewayFactory, **settings: object) -> Gateway:
    return await make_gateway(cors_origins=[ALLOWED], **settings)


async def test_an_allowed_origin_gets_the_headers(make_gateway: GatewayFactory) -> None:
    gateway = await cors_gateway(make_gateway)
    response = await gateway.client.post("/graphql", json=QUERY, headers={"origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in response.headers["access-control-expose-headers"]


async def test_another_origin_gets_none(make_gateway: GatewayFactory) -> None:
    gateway = await cors_gateway(make_gateway)
    response = await gateway.client.post("/graphql", json=QUERY, headers={"origin": OTHER})
    assert "access-control-allow-origin" not in response.headers


async def test_preflight(make_gateway: GatewayFactory) -> None:
    gateway = await cors_gateway(make_gateway)
    request = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization",
    }
    allowed = await gateway.client.options("/graphql", headers={"origin": ALLOWED, **request})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = await gateway.client.options("/graphql", headers={"origin": OTHER, **request})
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    wrong_method = await gateway.client.options(
        "/graphql", headers={"origin": ALLOWED, "access-control-request-method": "PATCH"}
    )
    assert wrong_method.status_code == 400


async def test_refusals_carry_cors_headers_so_browsers_can_read_them(make_gateway: GatewayFactory) -> None:
    gateway = await cors_gateway(make_gateway, rate_limit_client=1, rate_limit_client_burst=1)
    await gateway.client.post("/graphql", json=QUERY, headers={"origin": ALLOWED})
    limited = await gateway.client.post("/graphql", json=QUERY, headers={"origin": ALLOWED})
    assert limited.status_code == 429
    assert limited.headers["access-control-allow-origin"] == ALLOWED


async def test_no_origins_configured_means_no_cors(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    response = await gateway.client.post("/graphql", json=QUERY, headers={"origin": ALLOWED})
    assert "access-control-allow-origin" not in response.headers
