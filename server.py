"""The Onestop gateway: a Starlette app wiring config, store, cache, connectors and the schema.

Wiring only. ``create_app(settings)`` builds the app (tests build their own); ``python server.py`` serves
it with uvicorn on ``ONESTOP_HOST:ONESTOP_PORT``.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from access.service import Access
from config import Settings
from connectors.cache import ResponseCache
from connectors.registry import Registry
from coordination.bus import make_bus
from coordination.live import LiveCases
from coordination.reload import Reloader
from identity.digest import Digester, DigestKeyMissing
from identity.tokens import TokenVerifier
from middleware import hardening
from middleware.errors import HANDLERS as error_handlers
from middleware.stack import STREAM_PATH
from observability.logging import configure_logging
from observability.tracing import Tracing
from observability.wiring import Observability
from schema import build_schema
from schema.apq import Bounds, documents_for
from schema.graphiql import ROUTE as GRAPHIQL_ROUTE
from schema.graphiql import GraphiQLAssets
from schema.limits import QueryLimits
from schema.persisted import Manifests
from schema.response_cache import Limits, response_cache_for
from schema.sse import EventStreams, GraphQLOverSSE
from schema.view import GraphQLView
from store.db import create_engine, migrate, session_factory
from store.registrations import active_specs, seed_from_directory

log = logging.getLogger("onestop")


def spec_environ(settings: Settings) -> dict[str, str]:
    """Variables specs may use: the process environment plus the gateway's own settings."""
    return {**os.environ, "ONESTOP_MOCKS_URL": settings.mocks_url.rstrip("/")}


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    # ID numbers are named by keyed digests everywhere they are kept (DigestKeyMissing in production
    # without a key: refused before anything starts)
    digester = Digester.from_secrets(
        settings.digest_key.get_secret_value() if settings.digest_key else None,
        settings.resident_secret(),
        production=not settings.development,
    )
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    cache = ResponseCache(settings.cache_url, settings.namespace, settings.cache_local_ttl_s)
    # metrics, logs and traces of this app (its own registry and tracer: two apps never share counters)
    observability = Observability(
        Tracing.from_setting(settings.otel, settings.otel_service_name),
        settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        digester,
    )
    registry = Registry(cache, observer=observability.upstream, digester=digester)
    bus = make_bus(settings.redis_url, settings.namespace)  # messages between gateway processes
    # documents APQ clients register, shared by every process when there is Redis
    documents = documents_for(
        settings.redis_url,
        settings.cache_url,
        settings.namespace,
        Bounds(settings.apq_max_documents, settings.apq_max_document_bytes, settings.apq_ttl_s),
    )
    # live case updates: pollers of watched cases and the department webhook, publishing on the bus
    live = LiveCases.build(
        lambda: registry,
        bus,
        settings.namespace,
        settings.case_poll_min_s,
        settings.case_poll_max_s,
        settings.webhook_max_body_bytes,
        digester,
    )
    # hot reload: serve each department's active connector version (bus messages + store polling)
    reloader = Reloader(registry, sessions, spec_environ(settings), bus, poll_s=settings.reload_poll_s)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        environ = spec_environ(settings)
        try:
            await migrate(engine)
            seeded = await seed_from_directory(sessions, settings.specs_dir, environ)
            if seeded:
                log.info("registered bundled connectors: %s", ", ".join(seeded))
            registry.load((a.spec, a.version) for a in await active_specs(sessions, environ))
            log.info("serving %d departments", len(registry.all()))
            reloader.start()
            if settings.tune_gc:
                tune_gc()
            yield
        finally:
            await reloader.stop()
            await live.close()
            await registry.close()
            await bus.close()
            await documents.close()
            if responses is not None:
                await responses.close()
            await cache.close()
            observability.shutdown()
            await guards.close()
            await engine.dispose()

    async def healthz(request: Request) -> JSONResponse:
        """Liveness: the process answers. Says nothing of departments (that is /readyz)."""
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the store answers and connectors are loaded; each department's own state."""
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            store = "ok"
        except Exception as exc:
            store = f"unavailable ({type(exc).__name__})"
        departments = {d.id: d.state() for d in registry.all()}
        ready = store == "ok" and bool(departments)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "store": store, "departments": departments},
            status_code=200 if ready else 503,
        )

    verifier = TokenVerifier(settings.token_settings())
    # GraphiQL's page and bundle come with the project (no CDN: intranets and kiosks reach none)
    graphiql_assets = GraphiQLAssets.load() if settings.graphiql_enabled else None
    schema = build_schema(QueryLimits.from_settings(settings))
    # whole answers to public queries (schema/response_cache.py); None when off
    responses = response_cache_for(
        schema._schema,
        settings.response_cache,
        settings.redis_url,
        settings.cache_url,
        settings.namespace,
        settings.response_cache_max_entries,
        Limits(settings.response_cache_max_bytes, settings.response_cache_max_ttl_s),
    )
    # registry.snapshot: each request works on the connector versions served when it began
    graphql = GraphQLView(
        schema,
        registry.snapshot,
        graphiql=graphiql_assets,
        verifier=verifier,
        allowed_origins=settings.stream_origins,  # ONESTOP_CORS_ORIGINS (+ the deprecated WS list)
    )
    if settings.ws_allowed_origins:
        log.warning("ONESTOP_WS_ALLOWED_ORIGINS is deprecated: list the origins in ONESTOP_CORS_ORIGINS")
    # GraphQL over Server-Sent Events (graphql-sse, both modes), for clients that cannot use websockets
    streams = GraphQLOverSSE(
        graphql, settings.stream_origins, settings.sse_max_streams, settings.sse_heartbeat_s
    )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),  # subscriptions over graphql-transport-ws
        Route(STREAM_PATH, streams, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", observability.endpoint),
    ]
    # outermost first: each wraps everything below it
    middleware: list[Middleware] = [observability.middleware()]  # request ids, metrics, access log
    # CORS, in-flight limit, rate limits, body size: before any GraphQL work (middleware/stack.py)
    guards = hardening(settings, verifier, digester)
    middleware += guards.middleware
    routes.extend(live.routes)  # POST /webhooks/{department}
    if graphiql_assets is not None:
        routes.append(Route(GRAPHIQL_ROUTE, graphiql_assets.endpoint, methods=["GET"]))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers=dict(error_handlers),  # typed JSON: 404, 405, and a 500 never a traceback
    )
    app.state.persisted = Manifests.load(settings.persisted_dir, settings.trusted_channels)
    app.state.documents = documents  # registered by APQ clients (schema/apq.py)
    app.state.response_cache = responses
    app.state.inflight = guards.inflight  # .current, .limit, .refused
    app.state.rate_limits = guards.rate_limits  # .refused: Counter by "client" / "channel"
    app.state.event_streams = streams.streams  # .current, .limit, .refused
    app.state.registry = registry
    app.state.cache = cache
    app.state.sessions = sessions
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.bus = bus
    app.state.case_watch = live.watch
    app.state.reloader = reloader
    app.state.observability = observability
    observability.watch(app)
    app.state.digester = digester  # the one way subjects are named in logs, rows and keys
    app.state.access = Access(sessions, settings.resident_secret(), digester)  # who may see whose data
    return app


# Measured with `make bench` (see the issue note): a request leaves ~150 objects in reference cycles
# inside strawberry, graphql-core and the DataLoader, and Python's default thresholds then run a full
# collection over the whole heap several times a second, stalling every request in flight for
# 70-95 ms. Freezing what start-up built (schema, specs, modules) takes it out of every future scan,
# and a larger young generation makes collections rarer, each still small.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class GatewayServer(uvicorn.Server):
    """uvicorn, ending open event streams when it shuts down. uvicorn closes websockets itself (1012,
    clients reconnect) but waits for HTTP responses in progress, and an event stream never finishes
    by itself: without this a restart waits for every SSE client to leave."""

    def __init__(self, config: uvicorn.Config, streams: EventStreams) -> None:
        super().__init__(config)
        self.streams = streams

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # first stop accepting, so clients reconnect elsewhere (or to our successor)
        await self.streams.close()
        await super().shutdown(sockets)


# responses still in progress after this long are cancelled on shutdown (a safety net: streams end first)
SHUTDOWN_GRACE_S = 10


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        app = create_app(settings)
    except DigestKeyMissing as exc:
        raise SystemExit(f"onestop: not starting: {exc}") from None  # a setting to fix, not a traceback
    print(f"Onestop gateway: http://{settings.host}:{settings.port}/graphql ({settings.mode.value} mode)")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    GatewayServer(config, app.state.event_streams).run()


if __name__ == "__main__":
    main()
