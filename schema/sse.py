"""GraphQL over Server-Sent Events on ``/graphql/stream``: the graphql-sse protocol, both modes.

For clients behind proxies that block WebSockets (and for a browser's plain ``EventSource``). The
protocol is the one the ``graphql-sse`` reference client speaks (its PROTOCOL.md):

- *distinct connections*: a ``GET`` or ``POST`` with ``Accept: text/event-stream`` runs one operation
  and answers with its results as ``next`` events, then a ``complete`` event. The client ends a
  subscription by closing the connection.
- *single connection*: ``PUT`` reserves a stream (201, a token in the body); a ``GET`` with the token
  (``X-GraphQL-Event-Stream-Token`` header or ``?token=``, as an ``EventSource`` can only send it) and
  ``Accept: text/event-stream`` opens it;
  each ``POST`` with the token and ``extensions.operationId`` starts an operation (202) whose results
  arrive on that stream as ``{"id", "payload"}``; ``DELETE ?operationId=`` stops one.

Its own route, not ``/graphql`` with ``Accept: text/event-stream`` (which stays 406 there): plain JSON
clients never land in a stream, the GraphQL-over-HTTP negotiation stays one thing, and the
``graphql-sse`` client takes one URL for every request of both modes anyway.

Who the caller is comes from the same ``Authorization: Bearer`` header as over HTTP, verified once by
the authentication middleware (``identity/authentication.py``) and read through the GraphQL view
(``GraphQLView.identify``); each operation gets its own context and, like on the
websocket, decides access afresh (a stream lives long). A reservation belongs to the principal that
made it: another caller presenting its token is told it does not exist (opening its stream without
naming oneself is allowed: that is how an ``EventSource`` reads it).

Refusals before a stream starts are typed JSON (401 for a bad token, 403 for a foreign origin, 404 for
an unknown reservation, 409, 503); GraphQL errors (validation, access, departments) are ``next`` events
carrying ``extensions.code``, as the protocol asks. Quiet streams carry a comment every
``heartbeat_s`` so proxies keep them open; a client that goes away closes its operations' generators
at once (the subscription stops watching its departments).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.http import process_result
from strawberry.http.streaming import SSETransport, merge_stream_with_heartbeat
from strawberry.http.websocket_origin import is_same_origin, normalize_allowed_origins, normalize_origin

from identity.principal import ClientChannel, Principal
from identity.tokens import TokenError
from schema.http_body import (
    RequestData,
    RequestRefused,
    decode,
    query_params,
    request_data,
    resolve,
)
from schema.streams import EventStreams, Reservation, StreamRefused, owner_of
from schema.view import GraphQLView, error_body

log = logging.getLogger("onestop.sse")

RESERVATION_HEADER = "x-graphql-event-stream-token"  # CORS lets pages send it (middleware/stack.py)
RESERVATION_PARAM = "token"  # the reservation in the URL, for a browser's EventSource
MAX_OPERATIONS = 100  # per single-connection stream, as strawberry allows per websocket
RESERVATION_S = 30.0  # a reservation no event stream claims within this long is dropped
JSON = "application/json"
SSE = SSETransport()


class EventStream:
    """An ASGI response that sends ``events`` as Server-Sent Events until they end, the client leaves
    or the server shuts down (``EventStreams.close``).

    The client leaving is heard at once (``http.disconnect``), not at the next write: the source is then
    cancelled, which closes the subscription generators behind it, and ``on_close`` runs.
    """

    def __init__(
        self,
        streams: EventStreams,
        events: Callable[[], AsyncGenerator[str, None]],
        heartbeat_s: float,
        on_close: Callable[[], Awaitable[None]],
    ) -> None:
        self.streams = streams
        self.events = merge_stream_with_heartbeat(
            events, lambda: SSE.encode_comment("ping"), heartbeat_s, send_initial_heartbeat=False
        )
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.lower().encode(), v.encode()) for k, v in SSE.headers.items()]
        loop = asyncio.get_running_loop()
        stop, stopped = loop.create_future(), loop.create_future()
        self.streams.sending[stop] = stopped
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            # some browsers and proxies only pass the headers on with the first bytes
            await send({"type": "http.response.body", "body": b": ok\n\n", "more_body": True})
            writer = asyncio.create_task(self._write(send))
            listener = asyncio.create_task(_disconnected(receive))
            try:
                await asyncio.wait({writer, listener, stop}, return_when=asyncio.FIRST_COMPLETED)
                left = listener.done()
            finally:
                for task in (writer, listener):
                    task.cancel()
                ended = await asyncio.gather(writer, listener, return_exceptions=True)
            for failure in ended:
                if isinstance(failure, Exception):  # not the client leaving: a bug, for the log
                    log.error("event stream failed", exc_info=failure)
            if not left:  # the events ended or the server is closing: end the body
                with contextlib.suppress(OSError):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            try:
                await self.on_close()
            finally:
                del self.streams.sending[stop]
                stopped.set_result(None)

    async def _write(self, send: Send) -> None:
        stream = self.events()
        try:
            async for chunk in stream:
                await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
        except OSError:
            pass  # the client left while we wrote; the listener hears it too
        finally:
            await stream.aclose()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def next_event(payload: object) -> str:
    return SSE.encode_event("next", orjson.dumps(payload).decode())


def complete_event(operation_id: str | None = None) -> str:
    data = None if operation_id is None else orjson.dumps({"id": operation_id}).decode()
    return SSE.encode_event("complete", data)


class GraphQLOverSSE:
    """The ASGI app on ``/graphql/stream``. ``view`` identifies callers and builds their context."""

    def __init__(
        self,
        view: GraphQLView,
        streams: EventStreams,
        allowed_origins: Collection[str] = (),
        heartbeat_s: float = 12.0,
    ) -> None:
        self.view = view
        self.allowed_origins = normalize_allowed_origins(allowed_origins)
        self.streams = streams  # counted and bounded for the whole process (schema/streams.py)
        self.heartbeat_s = heartbeat_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            self._check_origin(request)
            principal, channel = self.view.identify(request)
            answer = await self._answer(request, principal, channel)
        except TokenError as exc:
            answer = refusal(401, "UNAUTHENTICATED", str(exc))
            answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        except StreamRefused as exc:
            answer = refusal(exc.status, exc.code, exc.message)
        except RequestRefused as exc:
            answer = refusal(400 if exc.status_code == 200 else exc.status_code, exc.code, exc.reason)
        except HTTPException as exc:  # an unknown X-Onestop-Channel, as over HTTP
            answer = refusal(exc.status_code, "BAD_REQUEST", exc.reason)
        await answer(scope, receive, send)

    def _check_origin(self, request: Request) -> None:
        """Pages of the gateway's own origin and of ``ONESTOP_CORS_ORIGINS`` may open streams; others
        not, as for the websocket (the token travels in a header, but a page should not even try)."""
        origin = request.headers.get("origin")
        if origin is None or is_same_origin(origin, request.headers.get("host")):
            return
        if "*" in self.allowed_origins or normalize_origin(origin) in self.allowed_origins:
            return
        raise StreamRefused(403, "FORBIDDEN_ORIGIN", "pages of this origin may not open event streams")

    async def _answer(self, request: Request, principal: Principal | None, channel: ClientChannel) -> ASGIApp:
        token = request.headers.get(RESERVATION_HEADER) or request.query_params.get(RESERVATION_PARAM)
        wants_events = SSE.accepts(request.headers.get("accept", ""))
        method = request.method
        if method == "PUT":
            return self._reserve(principal)
        if method == "DELETE":
            return self._stop(self.streams.find(token, owner_of(principal)), request)
        if wants_events and token:
            return self._open(self.streams.find(token, owner_of(principal), reading=True))
        if wants_events:
            return await self._distinct(request, principal, channel)
        if token:
            reservation = self.streams.find(token, owner_of(principal))
            return await self._start(reservation, request, principal, channel)
        raise StreamRefused(
            406,
            "NOT_ACCEPTABLE",
            "this endpoint answers text/event-stream: send `Accept: text/event-stream` (one operation "
            "per stream) or reserve a stream with PUT; plain JSON is on /graphql",
        )

    # -- distinct connections ---------------------------------------------------------------------

    async def _distinct(
        self, request: Request, principal: Principal | None, channel: ClientChannel
    ) -> ASGIApp:
        data = await self._request_data(request, channel)
        self.streams.admit()
        results = await self._run(request, data, principal, channel)
        self.streams.distinct += 1  # until the stream closes, however it ends

        async def events() -> AsyncGenerator[str, None]:
            async with contextlib.aclosing(results):
                async for payload in results:
                    yield next_event(payload)
            yield complete_event()

        async def closed() -> None:
            self.streams.distinct -= 1

        return EventStream(self.streams, events, self.heartbeat_s, closed)

    # -- single connection ------------------------------------------------------------------------

    def _reserve(self, principal: Principal | None) -> Response:
        self.streams.admit()
        reservation = Reservation(secrets.token_urlsafe(24), owner_of(principal))
        self.streams.reservations[reservation.token] = reservation
        loop = asyncio.get_running_loop()
        reservation.expiry = loop.call_later(RESERVATION_S, self._expire, reservation)
        return Response(reservation.token, 201, media_type="text/plain")

    def _expire(self, reservation: Reservation) -> None:
        if not reservation.open and self.streams.reservations.get(reservation.token) is reservation:
            del self.streams.reservations[reservation.token]
            for task in reservation.operations.values():
                task.cancel()

    def _open(self, reservation: Reservation) -> ASGIApp:
        if reservation.open:
            raise StreamRefused(409, "STREAM_ALREADY_OPEN", "this reservation's stream is already open")
        reservation.open = True
        if reservation.expiry is not None:
            reservation.expiry.cancel()

        async def events() -> AsyncGenerator[str, None]:
            while True:
                yield await reservation.events.get()

        async def closed() -> None:
            self.streams.reservations.pop(reservation.token, None)
            await reservation.stop()

        return EventStream(self.streams, events, self.heartbeat_s, closed)

    async def _start(
        self,
        reservation: Reservation,
        request: Request,
        principal: Principal | None,
        channel: ClientChannel,
    ) -> Response:
        data = await self._request_data(request, channel)
        operation_id = (data.extensions or {}).get("operationId")
        if not isinstance(operation_id, str) or not operation_id or len(operation_id) > 128:
            raise StreamRefused(400, "BAD_REQUEST", "name the operation in `extensions.operationId`")
        if operation_id in reservation.operations:
            raise StreamRefused(409, "OPERATION_ID_IN_USE", "an operation with this id is running")
        if len(reservation.operations) >= MAX_OPERATIONS:
            raise StreamRefused(409, "TOO_MANY_OPERATIONS", f"at most {MAX_OPERATIONS} per stream")
        results = await self._run(request, data, principal, channel)
        task = asyncio.create_task(self._forward(reservation, operation_id, results), name="onestop-sse-op")
        reservation.operations[operation_id] = task
        task.add_done_callback(lambda _: _forget(reservation, operation_id, task))
        return Response(status_code=202)

    @staticmethod
    async def _forward(
        reservation: Reservation, operation_id: str, results: AsyncGenerator[Any, None]
    ) -> None:
        async with contextlib.aclosing(results):
            async for payload in results:
                await reservation.events.put(next_event({"id": operation_id, "payload": payload}))
        await reservation.events.put(complete_event(operation_id))

    @staticmethod
    def _stop(reservation: Reservation, request: Request) -> Response:
        operation_id = request.query_params.get("operationId")
        if not operation_id:
            raise StreamRefused(400, "BAD_REQUEST", "name the operation to stop: `?operationId=`")
        task = reservation.operations.get(operation_id)
        if task is not None:
            task.cancel()  # its generator closes; a stopped operation gets no `complete`
        return Response(status_code=200)

    # -- operations -------------------------------------------------------------------------------

    async def _request_data(self, request: Request, channel: ClientChannel) -> RequestData:
        """The GraphQL request, read as strictly as on /graphql, with the channel's trusted documents."""
        if request.method == "GET":
            data = request_data(query_params(request.query_params))
            if _is_mutation(data):
                raise StreamRefused(405, "METHOD_NOT_ALLOWED", "mutations are sent with POST, never GET")
        else:
            data = request_data(decode(await request.body()))
        # a hash alone runs a trusted or APQ-registered document; registering is left to /graphql
        await resolve(self.view.manifests, self.view.documents, data, channel.value, JSON)
        return data

    async def _run(
        self, request: Request, data: RequestData, principal: Principal | None, channel: ClientChannel
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The operation's results as JSON-ready payloads, errors typed (validation errors included)."""
        request.state.principal, request.state.channel = principal, channel
        context = await self.view.get_context(request, Response())
        context.memoize_access = False  # a stream lives long: every event decides afresh
        results = await self.view.schema.stream(
            data.query,
            variable_values=data.variables,
            context_value=context,
            operation_name=data.operation_name,
            operation_extensions=data.extensions,
        )
        return _payloads(results)


async def _payloads(results: AsyncGenerator[Any, None]) -> AsyncGenerator[dict[str, Any], None]:
    async with contextlib.aclosing(results):
        async for result in results:
            payload: dict[str, Any] = dict(process_result(result))
            yield payload


def _is_mutation(data: RequestData) -> bool:
    """Whether a GET asks for a mutation (the check HTTP's GET makes; syntax errors are told later)."""
    try:
        document = parse(data.query or "")
    except GraphQLError:
        return False
    operation = get_operation_ast(document, data.operation_name)
    return operation is not None and operation.operation is OperationType.MUTATION


def _forget(reservation: Reservation, operation_id: str, task: asyncio.Task[None]) -> None:
    if reservation.operations.get(operation_id) is task:
        del reservation.operations[operation_id]
    if not task.cancelled() and task.exception() is not None:
        log.error("event stream operation failed", exc_info=task.exception())


def refusal(status: int, code: str, message: str) -> Response:
    return Response(error_body(message, code), status, media_type=JSON)
