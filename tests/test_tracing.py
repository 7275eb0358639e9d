"""OpenTelemetry spans, and the personal-data rule over everything operators see (logs and traces)."""

from __future__ import annotations

import importlib.util
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.world import DEFAULT_SEED, FIXTURE_RESIDENTS, build_world
from observability.logging import configure_logging
from observability.tracing import Tracing
from tests.conftest import Admin, Gateway, GatewayFactory

SECRET = "tracing-tests-secret-of-32-bytes-or-more"
CATALOGUE = "query Catalogue { services(first: 5) { totalCount } }"
WORLD = build_world(DEFAULT_SEED)
ID_SHAPE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def traced(gateway: Gateway) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    gateway.services.observability.tracing.use(provider)
    return exporter


def by_name(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


async def test_a_request_span_with_a_child_per_upstream_call(gateway: Gateway, admin: Admin) -> None:
    exporter = traced(gateway)
    response = await gateway.client.post(
        "/graphql", json={"query": CATALOGUE}, headers={"X-Request-Id": "trace-test-0001"}
    )
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    (request,) = by_name(spans, "query ")
    assert request.name == "query Catalogue" and request.kind is SpanKind.SERVER
    assert request.attributes is not None
    assert request.attributes["graphql.operation.name"] == "Catalogue"
    assert request.attributes["onestop.request_id"] == "trace-test-0001"
    assert request.attributes["http.response.status_code"] == 200
    upstream = by_name(spans, "upstream ")
    assert len(upstream) == await admin.requests() - _token_requests(await _all_paths(admin))
    for span in upstream:
        assert span.kind is SpanKind.CLIENT and span.parent is not None
        assert span.parent.span_id == request.context.span_id
        assert span.context.trace_id == request.context.trace_id
        assert span.attributes is not None and span.attributes["onestop.operation"] == "catalog"
        assert span.name == f"upstream {span.attributes['onestop.department']} catalog"


async def test_a_failing_call_is_an_error_span_with_its_code(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await make_gateway(policy={"retries": 0})
    exporter = traced(gateway)
    await admin.fault("commerce", malformed=True)
    await gateway.query(CATALOGUE)
    (failed,) = [s for s in by_name(exporter.get_finished_spans(), "upstream commerce")]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["onestop.error.code"] == "UPSTREAM_BAD_RESPONSE"
    (request,) = by_name(exporter.get_finished_spans(), "query ")
    assert request.attributes is not None
    assert request.attributes["onestop.outcome"] == "partial"
    assert list(request.attributes["onestop.error.codes"]) == ["UPSTREAM_BAD_RESPONSE"]  # type: ignore[arg-type]


async def test_departments_get_the_trace_context_of_their_call(
    make_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = await make_gateway(cache_url="none://")
    sent: list[str | None] = []
    original = aiohttp.ClientSession._request

    async def recording(self: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
        sent.append((kwargs.get("headers") or {}).get("traceparent"))
        return await original(self, method, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", recording)
    await gateway.query(CATALOGUE)
    assert sent and set(sent) == {None}  # tracing off: nothing added
    sent.clear()
    exporter = traced(gateway)
    await gateway.query(CATALOGUE)
    spans = by_name(exporter.get_finished_spans(), "upstream ")
    expected = {
        f"00-{s.context.trace_id:032x}-{s.context.span_id:016x}-{int(s.context.trace_flags):02x}"
        for s in spans
    }
    assert None not in sent and set(sent) <= expected and len(set(sent)) == len(spans)


def test_tracing_is_off_unless_configured() -> None:
    assert not Tracing.from_setting("").enabled
    console = Tracing.from_setting("console")
    assert console.enabled
    console.shutdown()
    with pytest.raises(ValueError, match="ONESTOP_OTEL"):
        Tracing.from_setting("zipkin")


@pytest.mark.skipif(
    importlib.util.find_spec("opentelemetry.exporter") is not None, reason="the OTLP exporter is installed"
)
def test_otlp_without_its_package_says_what_to_install() -> None:
    with pytest.raises(RuntimeError, match="pip install opentelemetry-exporter-otlp-proto-http"):
        Tracing.from_setting("otlp")


async def _all_paths(admin: Admin) -> dict[str, int]:
    async with admin.http.get(f"{admin.url}/_admin/stats") as response:
        stats = await response.json()
    return {path: n for entry in stats.values() for path, n in entry["paths"].items()}


def _token_requests(paths: dict[str, int]) -> int:
    return sum(n for path, n in paths.items() if "token" in path)


# -- the personal-data rule -------------------------------------------------------------------------


@pytest.fixture
def everything_logged() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", buffer)
    try:
        yield buffer
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def _span_texts(spans: tuple[ReadableSpan, ...]) -> list[str]:
    texts: list[str] = []
    for span in spans:
        texts.append(span.name)
        texts.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        for event in span.events:
            texts.append(event.name)
            texts.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
        texts.append(str(span.status.description))
    return texts


async def test_no_id_number_or_token_in_logs_or_spans(
    make_gateway: GatewayFactory,
    admin: Admin,
    caplog: pytest.LogCaptureFixture,
    everything_logged: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = await make_gateway(jwt_secret=SECRET, policy={"retries": 0})
    exporter = traced(gateway)
    senior = WORLD.residents[FIXTURE_RESIDENTS["senior_pudong"]]
    other = WORLD.residents[FIXTURE_RESIDENTS["veteran"]]
    numbers = {senior.id_number, other.id_number}
    resident = mint(SECRET, senior.id_number, Role.RESIDENT, channel=ClientChannel.APP)
    staff = mint(SECRET, "staff-0001", Role.STAFF, station="ST-0001", channel=ClientChannel.COUNTER)
    expired = mint(SECRET, other.id_number, Role.RESIDENT, ttl_s=-60)
    tokens = {resident, staff, expired}

    async def ask(
        query: str, token: str | None, headers: dict[str, str] | None = None, **variables: Any
    ) -> None:
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        response = await gateway.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers={**auth, **(headers or {})}
        )
        assert response.status_code in (200, 400, 401), response.text
        assert "Traceback" not in response.text

    await ask(
        "query Me { me { id profile { name idNumberMasked } cases { id status } "
        "eligibility { outcome service { id } } } }",
        resident,
        headers={"X-Request-Id": senior.id_number},  # a request id that is an ID number is replaced
    )
    start = "mutation Start($n: String!) { startAssistedSession(idNumber: $n, purposes: [PROFILE]) { id } }"
    await ask(start, staff, n=other.id_number)
    await ask(
        "mutation Start($n: String!) { startAssistedSession(idNumber: $n, purposes: [PROFILE]) { id } }",
        staff,
        n="31011519550315123",
    )  # malformed: a BAD_USER_INPUT, its value not echoed to logs
    await ask("query Typed($n: Int) { departments { id } }", None, n=senior.id_number)  # wrong type
    await ask("query Unused { departments { id } }", resident, n=senior.id_number)
    await ask("{ me { id } }", expired)  # refused token
    await ask("{ me { id } }", f"{resident}x")  # forged token
    # departments failing while personal data is asked: errors, retries and breaker logs
    await admin.fault("public-security", error_rate=1.0)
    await admin.fault("civil-affairs", malformed=True)
    await admin.fault("hrss", hang=True)
    await ask("query Me { me { profile { name } eligibility { outcome } cases { id } } }", resident)

    # a connector bug whose message holds the number: logged with its traceback, scrubbed on the way out
    tax = gateway.services.registry.get("tax")
    assert tax is not None

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"cannot read facts of {senior.id_number}")

    monkeypatch.setattr(tax.adapter, "facts", broken)
    await ask("query Me { me { eligibility { outcome } } }", resident)

    written = everything_logged.getvalue()
    assert written.count('"logger":"onestop.access"') >= 9
    spans = exporter.get_finished_spans()
    asked = {(s.attributes or {}).get("onestop.operation") for s in by_name(spans, "upstream ")}
    assert {"facts", "cases"} <= asked  # personal data was really fetched from the departments
    for text in [written, *_span_texts(spans)]:
        for secret in numbers | tokens:
            assert secret not in text
        assert not ID_SHAPE.search(text), ID_SHAPE.search(text)
    # and not only thanks to the scrubber: messages as the code writes them hold none either
    for record in caplog.records:
        message = record.getMessage()
        for secret in numbers | tokens:
            assert secret not in message, (record.name, message)
