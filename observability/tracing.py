"""Optional OpenTelemetry traces: a span per GraphQL request and a child span per upstream attempt.

Off unless ``ONESTOP_OTEL`` names an exporter (``console``; ``otlp`` with the OTLP exporter package
installed, configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables). Each app has its own
``TracerProvider``: nothing global is touched, so tests can give one an in-memory exporter.

What spans carry is chosen, never copied from the request: operation name and type (names are checked
to hold no long digit runs), department and capability, HTTP status, upstream error codes. Never a URL
(department paths can hold an ID number), a variable, the document, a token or a subject. Each upstream
call carries its span's W3C ``traceparent`` (``observability.context.TRACE_HEADERS``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from observability.context import TRACE_HEADERS

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

EXPORTERS = ("console", "otlp")


class Tracing:
    """The app's tracer, or none: every method is a cheap no-op while tracing is off."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider: TracerProvider | None = None
        self.tracer: Tracer | None = None
        if provider is not None:
            self.use(provider)

    @classmethod
    def from_setting(cls, exporter: str, service_name: str = "onestop") -> Tracing:
        if not exporter:
            return cls()
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(BatchSpanProcessor(make_exporter(exporter)))
        return cls(provider)

    def use(self, provider: TracerProvider) -> None:
        """Trace through ``provider`` from now on (tests pass one with an in-memory exporter)."""
        self.provider = provider
        self.tracer = provider.get_tracer("onestop")

    @property
    def enabled(self) -> bool:
        return self.tracer is not None

    def start_request(self, method: str, path: str) -> Span | None:
        """The span of one HTTP request; renamed to ``query Catalogue`` once the operation is known."""
        if self.tracer is None:
            return None
        from opentelemetry.trace import SpanKind

        return self.tracer.start_span(
            f"{method} {path}",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": path},
        )

    @contextmanager
    def upstream(self, department: str, operation: str) -> Iterator[Span | None]:
        """A client span around one attempt at a department, child of the current request's span."""
        if self.tracer is None:
            yield None
            return
        from opentelemetry.trace import SpanKind

        attributes = {"onestop.department": department, "onestop.operation": operation or "unknown"}
        with self.tracer.start_as_current_span(
            f"upstream {department} {operation}".rstrip(),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # an exception's message is not ours to vet: codes only
            set_status_on_exception=False,
        ) as span:
            token = TRACE_HEADERS.set(_trace_context(span))
            try:
                yield span
            finally:
                TRACE_HEADERS.reset(token)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


@contextmanager
def current(span: Span | None) -> Iterator[None]:
    """Make ``span`` the parent of the spans started inside (upstream attempts)."""
    if span is None:
        yield
        return
    from opentelemetry import context, trace

    token = context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        context.detach(token)


def _trace_context(span: Span) -> dict[str, str]:
    """W3C ``traceparent`` of ``span``, so a department that traces can continue the trace."""
    context = span.get_span_context()
    if not context.is_valid:
        return {}
    flags = int(context.trace_flags)
    return {"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"}


def mark_error(span: Span | None, code: str) -> None:
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("onestop.error.code", code)
    span.set_status(Status(StatusCode.ERROR, code))


def make_exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            module: Any = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
        except ImportError as exc:
            raise RuntimeError(
                "ONESTOP_OTEL=otlp needs the OTLP exporter: "
                "pip install opentelemetry-exporter-otlp-proto-http"
            ) from exc
        exporter: SpanExporter = module.OTLPSpanExporter()
        return exporter
    raise ValueError(f"ONESTOP_OTEL must be one of {', '.join(EXPORTERS)} or empty, not {name!r}")
