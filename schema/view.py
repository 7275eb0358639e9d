"""The schema over HTTP, following the GraphQL-over-HTTP spec on top of strawberry's ASGI view.

What strawberry leaves out and this adds: ``application/graphql-response+json`` with its status codes
(400 for a request that could not run), content negotiation (406), JSON bodies with a typed code for
every refused request (never a bare text/plain 400), and orjson encoding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from identity.authentication import ChannelError, authenticate, caller_of
from identity.principal import ClientChannel, Principal
from identity.tokens import TokenError
from schema.context import Context
from schema.graphiql import PAGE_POLICY, GraphiQLAssets
from schema.http_body import StrictRequests, ran
from schema.response_cache import CachedResponses
from services import Services

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts neither (406).

    ``application/graphql-response+json`` only when the client names it: a wildcard (``*/*`` is curl's
    and ``fetch``'s default) gets ``application/json``, whose status is 200 for a request that could not
    run. Clients that never heard of the new type would otherwise see HTTP 400 for a validation error
    (the GraphQL-over-HTTP spec: a server SHOULD answer ``application/json`` to such clients)."""
    if not accept:
        return JSON  # the spec: no Accept header means application/json
    candidates: list[tuple[float, int, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        chosen = _ACCEPTABLE.get(media.lower())
        quality = _quality(params)
        if chosen is not None and quality > 0:
            # higher quality wins; at equal quality the more specific type, then the earlier one
            candidates.append((quality, 0 if media.endswith("*") else 1, -position, chosen))
    return max(candidates)[3] if candidates else None


_ACCEPTABLE = {
    GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
    JSON: JSON,
    "application/*": JSON,
    "*/*": JSON,
}


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages as text frames, as the protocol says.

    Our ``encode_json`` returns orjson's bytes (cheap for HTTP bodies), and strawberry sends bytes as a
    binary frame: browsers then hand the page a ``Blob`` and the ``graphql-ws`` client, Apollo's
    ``GraphQLWsLink``, urql and GraphiQL fail ("Message is missing the 'type' property"); ``gql``
    refuses binary frames. Decoding here keeps HTTP on bytes and the socket on text.
    """

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(StrictRequests, CachedResponses, GraphQL[Context, None]):
    websocket_adapter_class = TextFrames

    def __init__(
        self,
        schema: BaseSchema,
        services: Services,
        graphiql: GraphiQLAssets | None,
        allowed_origins: Sequence[str] = (),
    ) -> None:
        # graphiql: the bundled page's assets, None when GraphiQL is off (a browser then gets 404)
        # allowed_origins: other sites whose pages may open the websocket (same origin always may)
        super().__init__(
            schema, graphql_ide="graphiql" if graphiql else None, allowed_origins=allowed_origins
        )
        self.services = services
        # what the mixins read, each the one part it needs (schema/http_body.py, schema/response_cache.py)
        self.manifests, self.documents = services.persisted, services.documents
        self.responses = services.response_cache
        # for the token a websocket sends in connection_init (HTTP's is the middleware's)
        self.verifier = services.verifier
        self.graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        media = negotiate(request.headers.get("accept"))
        if media is None and not self.should_render_graphql_ide(request):
            response = self._refuse(406, f"answers are {GRAPHQL_RESPONSE} or {JSON}", JSON)
        else:
            request.state.media_type = media or JSON
            try:
                request.state.principal, request.state.channel = self.identify(request)
                response = await self.run(request)
            except TokenError as exc:
                response = self._refuse(401, str(exc), media or JSON)
                response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            except HTTPException as exc:
                response = self._refuse(
                    exc.status_code, exc.reason, media or JSON, getattr(exc, "code", None)
                )
                if exc.status_code == 405:
                    response.headers["Allow"] = "GET, POST"
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A browser opening ``/graphql``: GET, ``text/html`` asked for by name, and no GraphQL request
        in the query string. A hash-only persisted query (``?extensions=...``) or ``documentId`` is a
        GraphQL request and gets JSON, whatever its ``Accept``; so does a client that does not name
        ``text/html`` (curl's and ``fetch``'s ``*/*``)."""
        params = request.query_params
        if request.method != "GET" or any(p in params for p in ("query", "extensions", "documentId")):
            return False
        return any(
            part.split(";")[0].strip().lower() == "text/html"
            for part in request.headers.get("accept", "").split(",")
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.graphiql is None:  # strawberry only calls this with an IDE configured
            raise HTTPException(404, "Not Found")
        headers = {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY, "Vary": "Accept"}
        return HTMLResponse(self.graphiql.page(), headers=headers)

    @staticmethod
    def _refuse(status: int, reason: str, media: str, code: str | None = None) -> Response:
        code = code or _HTTP_CODES.get(status, "BAD_REQUEST")
        return Response(error_body(reason, code), status, media_type=media)

    @staticmethod
    def identify(request: Request) -> tuple[Principal | None, ClientChannel]:
        """The caller the authentication middleware decided on (``identity/authentication.py``): the
        principal (None: no token, public data only) and channel. No verification here: a bad token
        raises its ``TokenError`` (401), an unknown channel a 400."""
        try:
            return caller_of(request.scope).require()
        except ChannelError as exc:
            raise HTTPException(400, str(exc)) from None

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws ``connection_init``: the same bearer token as over HTTP, sent in the
        payload as ``{"Authorization": "Bearer ..."}`` (browsers cannot set websocket headers), verified
        here once per connection; a payload naming neither token nor channel leaves the handshake's
        verdict (its headers, verified by the authentication middleware). No token: anonymous, public
        data only. A bad token: the socket is closed with 4403 before any operation."""
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        channel = params.get("X-Onestop-Channel", params.get("x-onestop-channel"))
        if not isinstance(header, str | None) or not isinstance(channel, str | None):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        if header is None and channel is None:
            caller = caller_of(context.request.scope)
        else:
            caller = await authenticate(self.verifier, header, channel)
        try:
            context.principal, context.channel = caller.require()
        except (TokenError, ChannelError) as exc:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"}) from exc
        acknowledged: UnsetType = UNSET
        return acknowledged

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        if isinstance(request, Request):
            request.state.sub_response = response
            # the media type __call__ negotiated, for create_response and the response cache
            response.negotiated = getattr(request.state, "media_type", JSON)  # type: ignore[union-attr]
            return Context(
                registry=self.services.registry.snapshot(),  # the connector versions served as it began
                services=self.services,
                request=request,
                principal=getattr(request.state, "principal", None),
                channel=getattr(request.state, "channel", ClientChannel.UNKNOWN),
            )
        return Context(
            registry=self.services.registry.snapshot(),
            services=self.services,
            request=request,
            memoize_access=False,
        )

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = process_result(result)
        if not ran(result):
            # the request could not run at all: the spec says no `data` entry, and 400 under the new type
            data.pop("data", None)
            if request.state.media_type == GRAPHQL_RESPONSE:
                request.state.sub_response.status_code = 400
        return data

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        # set by get_context on the same request; the sub-response carries it across strawberry's run()
        response.media_type = getattr(sub_response, "negotiated", JSON)
        response.headers["content-type"] = response.media_type
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
