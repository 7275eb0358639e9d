"""Production mode: introspection and GraphiQL off, limits on, batches refused, and no response anywhere
carries a traceback or an internal message, even when the code behind it breaks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import schema.limits
from middleware.buckets import MemoryBuckets
from schema.view import GraphQLView
from tests.conftest import Gateway, GatewayFactory

GRAPHQL_RESPONSE = "application/graphql-response+json"
SECRET_DETAIL = "secret internal detail /etc/passwd"
LEAKS = ("Traceback", 'File "', SECRET_DETAIL, "RuntimeError")


@pytest.fixture
async def production(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway(mode="production")


@pytest.fixture
async def lenient(production: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the response even when the app raises (as a real server would send it)."""
    transport = httpx.ASGITransport(app=production.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://onestop.test") as client:
        yield client


def assert_clean(response: httpx.Response) -> None:
    for leak in LEAKS:
        assert leak not in response.text, (leak, response.text)


async def post(gateway: Gateway, body: Any) -> httpx.Response:
    response = await gateway.client.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE})
    assert_clean(response)
    return response


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_introspection_is_refused(production: Gateway) -> None:
    response = await post(production, {"query": "{ __schema { types { name } } }"})
    assert (response.status_code, code_of(response)) == (400, "INTROSPECTION_DISABLED")
    hidden = await post(
        production, {"query": '{ a: services { b: edges { node { __type(name: "Query") { name } } } } }'}
    )
    assert code_of(hidden) == "INTROSPECTION_DISABLED"
    typename = await post(production, {"query": "{ __typename }"})
    assert typename.json()["data"] == {"__typename": "Query"}


async def test_an_over_deep_query_is_refused_before_validation(production: Gateway) -> None:
    query = "{ services { edges { node { department " + "{ a " * 10 + "}" * 10 + " } } } }"
    response = await post(production, {"query": query})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_DEEP", "limit": 12, "actual": 14}


async def test_an_unknown_persisted_query_hash_is_refused(production: Gateway) -> None:
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    response = await post(production, body)
    assert (response.status_code, code_of(response)) == (400, "PERSISTED_QUERY_NOT_FOUND")


async def test_graphiql_is_off(production: Gateway) -> None:
    page = await production.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404 and "graphiql" not in page.text.lower()


async def test_switches_can_be_set_either_way(make_gateway: GatewayFactory) -> None:
    opened = await make_gateway(mode="production", introspection=True, graphiql=True)
    response = await opened.query("{ __schema { queryType { name } } }")
    assert response["data"]["__schema"]["queryType"]["name"] == "Query"
    page = await opened.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    closed = await make_gateway(introspection=False)  # development, closed anyway
    refused = await post(closed, {"query": "{ __schema { queryType { name } } }"})
    assert code_of(refused) == "INTROSPECTION_DISABLED"


async def test_batches_are_refused_with_a_typed_400(production: Gateway) -> None:
    response = await post(production, [{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert (response.status_code, code_of(response)) == (400, "BATCH_NOT_SUPPORTED")


async def test_a_large_body_is_413(production: Gateway) -> None:
    query = '{ services(search: "%s") { totalCount } }' % ("x" * 70_000)
    response = await post(production, {"query": query})
    assert (response.status_code, code_of(response)) == (413, "PAYLOAD_TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read up to the limit, no further
        yield b'{"query": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}'

    chunked = await production.client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert (chunked.status_code, code_of(chunked)) == (413, "PAYLOAD_TOO_LARGE")


# -- forced internal errors, at every layer ------------------------------------------------------


async def test_a_resolver_that_breaks(
    production: Gateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import schema.services

    async def broken(*args: Any) -> Any:
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(schema.services, "list_services", broken)
    response = await post(production, {"query": "{ services { totalCount } }"})
    assert code_of(response) == "INTERNAL_SERVER_ERROR"
    assert SECRET_DETAIL in caplog.text  # operators still see it


async def test_a_schema_extension_that_breaks(
    production: Gateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(schema.limits, "measure", broken)
    response = await post(production, {"query": "{ departments { name } }"})
    assert code_of(response) == "INTERNAL_SERVER_ERROR"
    assert SECRET_DETAIL in caplog.text


async def test_the_view_itself_breaking(
    production: Gateway, lenient: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(GraphQLView, "identify", broken)
    response = await lenient.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 500 and code_of(response) == "INTERNAL_SERVER_ERROR"
    assert response.headers["content-type"].startswith("application/json")
    assert_clean(response)


async def test_middleware_breaking(make_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = await make_gateway(mode="production", rate_limit_client=5)

    async def broken(*args: Any) -> Any:
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(MemoryBuckets, "take", broken)
    transport = httpx.ASGITransport(app=gateway.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://onestop.test") as client:
        response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 500 and code_of(response) == "INTERNAL_SERVER_ERROR"
    assert_clean(response)


async def test_routing_errors_are_typed_json_too(production: Gateway) -> None:
    missing = await production.client.get("/admin/../etc/passwd")
    assert (missing.status_code, code_of(missing)) == (404, "NOT_FOUND")
    assert missing.headers["content-type"].startswith("application/json")
    wrong = await production.client.post("/healthz")
    assert (wrong.status_code, code_of(wrong)) == (405, "METHOD_NOT_ALLOWED")
    assert "GET" in wrong.headers["allow"]
    assert_clean(missing)
    assert_clean(wrong)
