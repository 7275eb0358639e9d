"""GraphQL over HTTP as the spec says, and a typed JSON error for every refused request."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DEPARTMENT_IDS, Gateway, GatewayFactory

GRAPHQL_RESPONSE = "application/graphql-response+json"
SMALL = "{ departments { id } }"


async def post(gateway: Gateway, body: Any, accept: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    if accept is not None:
        headers["accept"] = accept
    if isinstance(body, (bytes, str)):
        return await gateway.client.post("/graphql", content=body, headers=headers)
    return await gateway.client.post("/graphql", json=body, headers=headers)


def code_of(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_post_answers_in_the_negotiated_media_type(gateway: Gateway) -> None:
    for accept, media in [
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        ("*/*", "application/json"),  # curl and fetch: never the new type unasked
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.2, application/json", "application/json"),
    ]:
        response = await post(gateway, {"query": SMALL}, accept)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media), accept
        assert len(response.json()["data"]["departments"]) == len(DEPARTMENT_IDS)


def test_no_accept_header_means_json() -> None:
    from schema.view import negotiate

    assert negotiate(None) == negotiate("") == "application/json"
    assert negotiate("text/html, application/xml;q=0.9") is None
    assert negotiate("application/graphql-response+json;q=0") is None


async def test_get_runs_queries(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/graphql", params={"query": SMALL}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200 and response.json()["data"]["departments"]


async def test_unacceptable_media_type_is_406(gateway: Gateway) -> None:
    response = await post(gateway, {"query": SMALL}, "text/plain")
    assert response.status_code == 406 and code_of(response) == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 400), ("application/json", 200)])
async def test_requests_that_cannot_run_are_400_under_the_new_media_type(
    gateway: Gateway, accept: str, status: int
) -> None:
    for query, code in [
        ("{ departments { id ", "GRAPHQL_PARSE_FAILED"),
        ("{ departments { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { services(first: $n) { totalCount } }", "BAD_USER_INPUT"),
    ]:
        response = await post(gateway, {"query": query, "variables": {"n": "ten"}}, accept)
        assert response.status_code == status, (query, response.text)
        body = response.json()
        assert "data" not in body  # the request never ran
        assert body["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"12", "application/json", 400),  # JSON, not an object (an array is BATCH_NOT_SUPPORTED)
        (b'{"query": 42}', "application/json", 400),
        (b'{"query": "{ departments { id } }", "variables": []}', "application/json", 400),
        (b"query=x", "application/x-www-form-urlencoded", 400),
        (b"{}", "application/json", 400),
    ],
)
async def test_malformed_http_bodies_get_typed_json_errors(
    gateway: Gateway, body: bytes, content_type: str, status: int
) -> None:
    response = await post(gateway, body, GRAPHQL_RESPONSE, **{"content-type": content_type})
    assert response.status_code == status
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert code_of(response) == "BAD_REQUEST"


async def test_other_methods_are_refused(gateway: Gateway) -> None:
    response = await gateway.client.put("/graphql", json={"query": SMALL})
    assert response.status_code == 405 and "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ("services(first: -1) { totalCount }", "first"),
        ("services(first: 101) { totalCount }", "first"),
        ('services(after: "bm90IGEgY3Vyc29y") { totalCount }', "after"),
        ('services(filter: {departments: ["nope"]}) { totalCount }', "filter.departments"),
        ("stations(near: {latitude: 91, longitude: 121}) { walkMinutes }", "near.latitude"),
        (
            "stations(near: {latitude: 31, longitude: 121}, maxWalkMinutes: 0) { walkMinutes }",
            "maxWalkMinutes",
        ),
        ("stations(near: {latitude: 31, longitude: 121}, first: 500) { walkMinutes }", "first"),
    ],
)
async def test_bad_arguments_are_bad_user_input_naming_the_argument(
    gateway: Gateway, arguments: str, argument: str
) -> None:
    body = await gateway.query("{ " + arguments + " }")
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert body["data"] is None


async def test_partial_data_keeps_the_other_fields(gateway: Gateway) -> None:
    body = await gateway.query("{ departments { id } services(first: -1) { totalCount } }")
    assert body["data"] is None or body["data"].get("departments")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unexpected_exceptions_are_masked_and_logged(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import schema.services

    async def broken(*args: Any) -> Any:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(schema.services, "list_services", broken)
    response = await post(gateway, {"query": "{ services { totalCount } }"})
    assert response.status_code == 200
    text = response.text
    assert "secret internal detail" not in text and "Traceback" not in text
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret internal detail" in caplog.text  # operators still see what happened


async def test_graphiql_in_development_only(make_gateway: GatewayFactory) -> None:
    development = await make_gateway()
    page = await development.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    production = await make_gateway(mode="production")
    page = await production.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404


async def test_health_and_readiness(gateway: Gateway) -> None:
    live = await gateway.client.get("/healthz")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await gateway.client.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "ready" and body["store"] == "ok"
    assert set(body["departments"]) == DEPARTMENT_IDS
    assert body["departments"]["community"]["breaker"] == "CLOSED"


async def test_a_bad_scalar_in_variables_is_bad_user_input(gateway: Gateway) -> None:
    query = (
        "query($t: DateTime) { stations(near: {latitude: 31, longitude: 121}, openAt: $t) { walkMinutes } }"
    )
    response = await post(gateway, {"query": query, "variables": {"t": "next tuesday"}}, GRAPHQL_RESPONSE)
    assert response.status_code == 400 and code_of(response) == "BAD_USER_INPUT"
