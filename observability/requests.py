"""One GraphQL request as operators see it: id, operation, outcome, time; metrics, a log line, a span.

``RequestObserver`` is pure ASGI middleware, outermost: it takes the request id from ``X-Request-Id``
(if it is a sane token) or makes one, returns it in the response, and puts it where upstream calls
read it (``observability.context.REQUEST_ID``, sent to the departments as a header). It cannot parse
GraphQL, so ``OperationObserver``, a schema extension, fills the operation's name, type and error codes
into the request's ``RequestRecord`` once the result is final. When the response is done the
middleware counts it, times it, logs one line and ends the span.
"""

from __future__ import annotations

import contextvars
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from graphql import GraphQLError, OperationDefinitionNode
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from observability.context import REQUEST_ID
from observability.logging import access_log
from observability.redaction import safe_name, safe_request_id
from observability.tracing import current

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from identity.digest import Digester
    from observability.metrics import Metrics
    from observability.tracing import Tracing

HEADER = b"x-request-id"
GRAPHQL_PATH = "/graphql"

# outcomes of requests that never reached execution, by HTTP status
_REFUSALS = {429: "rate_limited", 503: "overloaded"}


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    operation: str | None = None
    kind: str = "unknown"  # query, mutation, subscription; unknown until parsed
    outcome: str | None = None  # set once executed: ok, partial, error
    errors: list[tuple[str, str]] = field(default_factory=list)  # (code, department)
    operations: int = 0  # more than one in a batch

    def executed(self, name: str | None, kind: str, errors: list[GraphQLError], has_data: bool) -> None:
        self.operations += 1
        self.operation = name if self.operations == 1 else "batch"
        self.kind = kind if self.operations == 1 or kind == self.kind else "batch"
        codes = [_code(e) for e in errors]
        self.errors.extend(codes)
        outcome = "error" if not has_data else "partial" if codes else "ok"
        self.outcome = _worse(self.outcome, outcome)

    def final_outcome(self, status: int) -> str:
        if self.outcome is not None:
            return self.outcome
        if status in _REFUSALS:
            return _REFUSALS[status]
        return "failed" if status >= 500 else "rejected"


CURRENT_REQUEST: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "onestop_request", default=None
)

_SEVERITY = {None: -1, "ok": 0, "partial": 1, "error": 2}


def _worse(a: str | None, b: str) -> str:
    return b if _SEVERITY[b] >= _SEVERITY[a] else a or b


def _code(error: GraphQLError) -> tuple[str, str]:
    extensions = error.extensions or {}
    return str(extensions.get("code", "UNKNOWN")), str(extensions.get("department", ""))


class OperationObserver(SchemaExtension):
    """Tells the request's record what ran and how it ended. Listed after ``ErrorShaping``, whose
    ``get_results`` gives every error its code first."""

    def get_results(self) -> dict[str, Any]:
        record = CURRENT_REQUEST.get()
        if record is not None:
            context = self.execution_context
            result = context.result
            record.executed(
                safe_name(context.operation_name),
                _kind(context),
                list(context.pre_execution_errors or ()),
                result is not None and result.data is not None,
            )
        return {}


def _kind(context: Any) -> str:
    document = context.graphql_document
    if document is None:
        return "unknown"
    name = context.operation_name
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name is not None and definition.name.value == name)
        ):
            return str(definition.operation.value)
    return "unknown"


class Observers(Protocol):
    """What a request is reported to (``observability.wiring.Observability`` is one)."""

    @property
    def tracing(self) -> Tracing: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def digester(self) -> Digester: ...


class RequestObserver:
    """ASGI middleware: request id in and out, and metrics, access log and span per request."""

    def __init__(self, app: ASGIApp, observability: Observers) -> None:
        self.app = app
        self.observability = observability
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        record = RequestRecord(request_id)
        id_token = REQUEST_ID.set(request_id)
        record_token = CURRENT_REQUEST.set(record)
        span = self.observability.tracing.start_request(scope["method"], scope["path"])
        status = 500  # what the client sees if the app fails before answering
        header = (HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        started = time.perf_counter()
        self.in_flight += 1
        try:
            if span is None:
                await self.app(scope, receive, send_with_id)
            else:
                with current(span):
                    await self.app(scope, receive, send_with_id)
        finally:
            self.in_flight -= 1
            self._finish(scope, record, status, time.perf_counter() - started, span)
            CURRENT_REQUEST.reset(record_token)
            REQUEST_ID.reset(id_token)

    def _finish(
        self, scope: Scope, record: RequestRecord, status: int, seconds: float, span: Span | None
    ) -> None:
        graphql = scope["path"] == GRAPHQL_PATH
        outcome = record.final_outcome(status)
        if graphql:
            metrics = self.observability.metrics
            metrics.request(record.operation, record.kind, outcome, seconds)
            metrics.errors(record.errors)
        if span is not None:
            _close_span(span, record, status, outcome)
        level = logging.INFO if graphql else logging.DEBUG
        if access_log.isEnabledFor(level):
            fields = _access_fields(scope, record, status, outcome, seconds, self.observability.digester)
            access_log.log(level, "request", extra={"fields": fields})


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER:
            given = safe_request_id(value.decode("latin-1"))
            if given is not None:
                return given
            break
    return new_request_id()


def new_request_id() -> str:
    """128 random bits as four groups of 8 hex digits: no run of digits long enough to look like a
    phone or ID number, so our own ids pass ``safe_request_id`` when a client sends them back."""
    text = os.urandom(16).hex()
    return "-".join(text[i : i + 8] for i in range(0, 32, 8))


def _access_fields(
    scope: Scope, record: RequestRecord, status: int, outcome: str, seconds: float, digester: Digester
) -> dict[str, Any]:
    state = scope.get("state") or {}
    principal = state.get("principal")
    channel = state.get("channel")
    return {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "operation": record.operation,
        "operation_type": record.kind,
        "outcome": outcome,
        "error_codes": sorted({code for code, _ in record.errors}),
        "role": principal.role.value if principal is not None else None,
        # keyed: a resident's subject is their ID number
        "subject": digester.of(principal.subject) if principal is not None else None,
        "channel": getattr(channel, "value", None),
    }


def _close_span(span: Span, record: RequestRecord, status: int, outcome: str) -> None:
    from opentelemetry.trace import Status, StatusCode

    if record.operation is not None or record.kind != "unknown":
        span.update_name(f"{record.kind} {record.operation or 'anonymous'}")
        span.set_attribute("graphql.operation.type", record.kind)
        if record.operation is not None:
            span.set_attribute("graphql.operation.name", record.operation)
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("onestop.request_id", record.request_id)
    span.set_attribute("onestop.outcome", outcome)
    if record.errors:
        span.set_attribute("onestop.error.codes", sorted({code for code, _ in record.errors}))
    if outcome in ("error", "failed"):
        span.set_status(Status(StatusCode.ERROR, outcome))
    span.end()
