"""What Onestop takes from strawberry beyond its public extension points, pinned so an upgrade fails here.

strawberry documents these hooks of its views, which the gateway uses freely: ``get_context``,
``get_root_value``, ``process_result``, ``encode_json``, ``decode_json``, ``render_graphql_ide``,
``on_ws_connect``; and of its schema: extensions, ``execute``, ``process_errors``,
``execution_context_class``. Everything else the gateway overrides or imports is in ``SIGNATURES``
below, with the parameters it relies on, and each has a test of the behaviour that depends on it, end to
end. docs/architecture.md ("What we override in strawberry") says why each one remains.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import inspect
import json
from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest
import websockets
from cross_web import HTTPException
from graphql import GraphQLSchema
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.federation.schema import Schema as FederationSchema
from strawberry.http import GraphQLRequestData
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.http.base import BaseView
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.streaming import SSETransport, merge_stream_with_heartbeat
from strawberry.http.websocket_origin import is_same_origin, normalize_allowed_origins, normalize_origin
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.schema.schema import (
    DEFAULT_ALLOWED_OPERATION_TYPES,
    StrawberryGraphQLCoreExecutionContext,
    validate_document,
)
from strawberry.types.arguments import _is_leaf_type, _is_optional_leaf_type
from strawberry.types.execution import ExecutionContext
from strawberry.types.graphql import OperationType

from schema import build_schema
from schema.execution import plan
from schema.view import GraphQLView, TextFrames
from tests.conftest import GatewayFactory
from tests.live_support import served

# (what, the parameters we call it with or override it by, in order)
SIGNATURES: list[tuple[Callable[..., Any], list[str]]] = [
    # schema/view.py GraphQLView.__call__ hands plain HTTP to run() after negotiating and identifying
    (AsyncBaseHTTPView.run, ["self", "request", "context", "root_value"]),
    # schema/http_body.py StrictRequests: strict bodies, persisted documents, APQ registration
    (AsyncBaseHTTPView.parse_http_body, ["self", "request"]),
    (
        AsyncBaseHTTPView.execute_operation,
        ["self", "request", "request_adapter", "request_data", "context", "root_value", "sub_response"],
    ),
    # schema/view.py: the negotiated media type; schema/response_cache.py: a cached body as is
    (GraphQL.create_response, ["self", "response_data", "sub_response"]),
    (BaseView.should_render_graphql_ide, ["self", "request"]),
    # schema/view.py TextFrames: graphql-transport-ws as text frames
    (ASGIWebSocketAdapter.__init__, ["self", "view", "request", "response"]),
    (ASGIWebSocketAdapter.send_json, ["self", "message"]),
    # schema/sse.py: graphql-sse's framing, heartbeats and the websocket's origin rules
    (SSETransport.encode_event, ["self", "event", "data"]),
    (SSETransport.encode_comment, ["self", "comment"]),
    (SSETransport.accepts, ["self", "accept"]),
    (merge_stream_with_heartbeat, ["stream", "heartbeat_message", "interval", "send_initial_heartbeat"]),
    (normalize_origin, ["origin"]),
    (normalize_allowed_origins, ["allowed_origins"]),
    (is_same_origin, ["origin", "host"]),
    # schema/execution.py PlainFields: plain scalar fields completed in one step
    (
        StrawberryGraphQLCoreExecutionContext.execute_field,
        ["self", "parent_type", "source", "field_details_list", "path", "position_context"],
    ),
    # schema/execution.py PlainFields: an object's plain fields completed in its own field loop, plain
    # objects and lists of them run at once, errors handled by graphql-core's own method
    (
        StrawberryGraphQLCoreExecutionContext.execute_fields,
        ["self", "parent_type", "source_value", "path", "grouped_field_set", "position_context"],
    ),
    (
        StrawberryGraphQLCoreExecutionContext.handle_field_error,
        ["self", "raw_error", "return_type", "field_details_list", "path"],
    ),
    (StrawberryGraphQLCoreExecutionContext.collect_subfields, ["self", "return_type", "field_details_list"]),
    # schema/execution.py PlainFields: a plain resolver's object completed at once (``_called``), the
    # unusual values by graphql-core's own completion; DocumentPlan: the kept root field set
    (
        StrawberryGraphQLCoreExecutionContext.build_resolve_info,
        ["self", "field_def", "field_nodes", "parent_type", "path"],
    ),
    (
        StrawberryGraphQLCoreExecutionContext.complete_value,
        ["self", "return_type", "field_details_list", "info", "path", "result", "position_context"],
    ),
    (
        StrawberryGraphQLCoreExecutionContext.complete_awaitable_value,
        ["self", "return_type", "field_details_list", "info", "path", "result", "position_context"],
    ),
    (
        StrawberryGraphQLCoreExecutionContext.execute_collected_root_fields,
        ["self", "root_type", "root_value", "grouped_field_set", "serially", "new_defer_usages"],
    ),
    # schema/hooks.py Runner: extension hooks wrapped once per class (schema/errors.py Schema creates it)
    (SchemaExtensionsRunner.__init__, ["self", "execution_context", "extensions"]),
    (FederationSchema.create_extensions_runner, ["self", "execution_context", "extensions"]),
    # schema/validated.py: validation remembered by document identity
    (validate_document, ["schema", "document", "validation_rules"]),
    # schema/arguments.py: argument conversion planned once, with strawberry's own leaf tests
    (_is_leaf_type, ["type_", "scalar_registry", "skip_classes"]),
    (_is_optional_leaf_type, ["type_", "scalar_registry", "skip_classes"]),
    # schema/federation.py Subgraph: router references checked before they are resolved
    (FederationSchema.entities_resolver, ["self", "info", "representations"]),
    # schema/errors.py Schema.execute: a subscription over plain HTTP gets a typed refusal
    (InvalidOperationTypeError.__init__, ["self", "operation_type"]),
]


@pytest.mark.parametrize("target,parameters", SIGNATURES, ids=lambda t: getattr(t, "__qualname__", ""))
def test_the_signatures_we_override_or_call(target: Callable[..., Any], parameters: list[str]) -> None:
    assert list(inspect.signature(target).parameters) == parameters


def test_the_data_shapes_we_build_on() -> None:
    # schema/http_body.py RequestData adds documentId and builds the first four positionally
    fields = [f.name for f in dataclasses.fields(GraphQLRequestData)]
    assert fields[:4] == ["query", "variables", "operation_name", "extensions"]
    # schema/errors.py ErrorShaping shapes the list the response will carry; observability reads it
    names = {f.name for f in dataclasses.fields(ExecutionContext)}
    assert {"pre_execution_errors", "result", "context", "query"} <= names
    assert isinstance(getattr(ExecutionContext, "operation_type", None), property)
    # the view's websocket adapter is the one TextFrames replaces, and it keeps the socket as `ws`
    assert GraphQL.websocket_adapter_class is ASGIWebSocketAdapter
    assert GraphQLView.websocket_adapter_class is TextFrames
    assert issubclass(WebSocketDisconnected, Exception)
    # refusals raised inside strawberry's run() and ours alike
    refused = HTTPException(400, "why")
    assert (refused.status_code, refused.reason) == (400, "why")
    # schema/errors.py: what strawberry allows by default, less subscriptions, and who was refused
    assert OperationType.SUBSCRIPTION in DEFAULT_ALLOWED_OPERATION_TYPES
    assert InvalidOperationTypeError(OperationType.SUBSCRIPTION).operation_type is OperationType.SUBSCRIPTION
    # graphql-core's schema behind strawberry's: limits, contract, response cache and inputs read it
    assert isinstance(build_schema()._schema, GraphQLSchema)


def test_plain_fields_find_strawberrys_default_resolvers() -> None:
    """If strawberry stops marking its attribute resolvers, the fast path would silently turn off."""
    department = build_schema()._schema.type_map["Department"]
    assert plan(department.fields["name"]) is not None  # type: ignore[attr-defined]


def test_direct_resolvers_and_made_hooks_find_strawberrys_parts() -> None:
    """If strawberry's resolver or hook internals change, these fast paths would silently turn off."""
    from schema.errors import ErrorShaping
    from schema.execution import called, direct_resolvers
    from schema.hooks import made

    schema = build_schema()
    department = schema._schema.type_map["Service"].fields["department"]  # type: ignore[attr-defined]
    assert department.resolve.__qualname__.startswith("_direct")  # build_schema already made it direct
    assert called(department) is not None  # and its object is completed at once
    assert direct_resolvers(schema) > 40  # and would again: most resolvers qualify
    assert made(ErrorShaping, "on_operation") is not None and made(ErrorShaping, "on_parse") is None


def test_graphql_sse_framing_and_origins() -> None:
    sse = SSETransport()
    assert sse.encode_event("next", "{}") == "event: next\r\ndata: {}\r\n\r\n"
    assert sse.encode_comment("ping") == ": ping\r\n\r\n"
    assert sse.accepts("text/event-stream") and not sse.accepts("application/json")
    assert sse.headers["Content-Type"] == "text/event-stream"
    assert normalize_origin("HTTPS://App.Example:443") == "https://app.example"
    assert normalize_allowed_origins(["https://app.example/"]) == frozenset({"https://app.example"})
    assert is_same_origin("http://a.test:8000", "a.test:8000")
    assert not is_same_origin("http://evil.test", "a.test")


async def test_heartbeats_fill_a_quiet_stream() -> None:
    """schema/sse.py keeps quiet streams open with comments; the source is awaited, not timed."""
    heard = asyncio.Event()

    async def source() -> AsyncGenerator[str, None]:
        await heard.wait()  # quiet until a heartbeat has gone out
        yield "event"

    merged = merge_stream_with_heartbeat(source, lambda: "beat", 0.01, send_initial_heartbeat=False)
    seen: list[str] = []
    async for chunk in merged():
        seen.append(chunk)
        if chunk == "beat":
            heard.set()
    assert seen[0] == "beat" and seen[-1] == "event"


# -- the overrides, end to end --------------------------------------------------------------------


async def test_strict_bodies_refuse_batches_and_non_objects(make_gateway: GatewayFactory) -> None:
    """``parse_http_body``: ours runs (strawberry's would say 'Batching is not enabled' untyped)."""
    gateway = await make_gateway()
    batch = await gateway.client.post("/graphql", json=[{"query": "{ __typename }"}])
    assert batch.status_code == 400
    assert batch.json()["errors"][0]["extensions"]["code"] == "BATCH_NOT_SUPPORTED"
    text = await gateway.client.post(
        "/graphql", content=b'"a string"', headers={"content-type": "application/json"}
    )
    assert text.status_code == 400 and text.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    form = await gateway.client.post("/graphql", content=b"query=x", headers={"content-type": "text/plain"})
    assert form.status_code == 400 and form.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_persisted_queries_resolve_before_execution(make_gateway: GatewayFactory) -> None:
    """``execute_operation`` (StrictRequests): a hash alone runs the document APQ registered."""
    gateway = await make_gateway()
    query = "{ __typename }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = {"x-onestop-channel": "app"}
    registered = await gateway.client.post(
        "/graphql", json={"query": query, "extensions": extensions}, headers=headers
    )
    assert registered.json() == {"data": {"__typename": "Query"}}
    again = await gateway.client.post("/graphql", json={"extensions": extensions}, headers=headers)
    assert again.json() == {"data": {"__typename": "Query"}}


async def test_cached_answers_use_the_sub_response_and_context(make_gateway: GatewayFactory) -> None:
    """``execute_operation`` (CachedResponses) reads ``sub_response`` and ``context`` as keywords;
    ``create_response`` sends a kept body as is, or a 304."""
    gateway = await make_gateway(response_cache=True)
    query = '{ services(first: 2, filter: {departments: ["civil-affairs"]}) { edges { node { id name } } } }'
    first = await gateway.client.get("/graphql", params={"query": query})
    assert first.status_code == 200 and first.headers["cache-control"].startswith("public"), first.text
    etag = first.headers["etag"]
    again = await gateway.client.get("/graphql", params={"query": query}, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""


async def test_answers_carry_the_negotiated_media_type(make_gateway: GatewayFactory) -> None:
    """``create_response``: the media type get_context put on the sub-response."""
    gateway = await make_gateway()
    typed = "application/graphql-response+json"
    answer = await gateway.client.post("/graphql", json={"query": "{ nope }"}, headers={"accept": typed})
    assert answer.status_code == 400 and answer.headers["content-type"].startswith(typed)
    plain = await gateway.client.post("/graphql", json={"query": "{ nope }"}, headers={"accept": "*/*"})
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")


async def test_the_ide_is_only_for_browsers(make_gateway: GatewayFactory) -> None:
    """``should_render_graphql_ide``: strawberry's would show curl's ``*/*`` the page."""
    gateway = await make_gateway()
    page = await gateway.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    curl = await gateway.client.get("/graphql", headers={"accept": "*/*"})
    assert curl.headers["content-type"].startswith("application/json")


async def test_websocket_messages_are_text_frames(make_gateway: GatewayFactory) -> None:
    """``TextFrames.send_json``: our orjson bytes would otherwise go out as binary frames."""
    gateway = await make_gateway()
    async with served(gateway.app) as url:
        ws_url = url.replace("http://", "ws://") + "/graphql"
        protocol = [websockets.Subprotocol("graphql-transport-ws")]
        async with websockets.connect(ws_url, subprotocols=protocol) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            frame = await asyncio.wait_for(ws.recv(), 10)
    assert isinstance(frame, str) and json.loads(frame)["type"] == "connection_ack"


async def test_subscriptions_over_plain_http_are_refused_typed(make_gateway: GatewayFactory) -> None:
    """``Schema.execute`` catches strawberry's ``InvalidOperationTypeError`` by its operation type."""
    gateway = await make_gateway()
    answer = await gateway.client.post("/graphql", json={"query": "subscription { caseUpdated { source } }"})
    codes = [e["extensions"]["code"] for e in answer.json()["errors"]]
    assert codes == ["SUBSCRIPTION_NOT_SUPPORTED_OVER_HTTP"], answer.text


async def test_router_references_are_checked_by_our_entities_resolver(make_gateway: GatewayFactory) -> None:
    """``entities_resolver``: strawberry's would look up any ``__typename`` it is sent."""
    gateway = await make_gateway()
    query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    answer = await gateway.client.post(
        "/graphql", json={"query": query, "variables": {"r": [{"__typename": "Resident", "id": "x"}]}}
    )
    errors = answer.json()["errors"]
    assert (
        errors[0]["extensions"]["code"] == "BAD_USER_INPUT" and "representations[0]" in errors[0]["message"]
    )
