"""The Onestop gateway: a Starlette app wiring config, store, cache, connectors and the schema.

Wiring only. ``create_app(settings)`` builds the app (tests build their own); ``python server.py`` serves
it with uvicorn on ``ONESTOP_HOST:ONESTOP_PORT``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from access.chain import ChainKey
from access.service import Access
from access.sessions import PendingLimits
from config import PROJECT_ROOT, Settings
from connectors.cache import ResponseCache
from connectors.registry import Registry
from connectors.spec import parse_spec
from coordination.bus import make_bus
from coordination.live import LiveCases
from coordination.reload import Reloader
from identity.digest import Digester, DigestKeyMissing
from identity.public_secrets import public as public_secrets
from identity.public_secrets import repository_secrets, secret_fields
from identity.tokens import TokenVerifier
from middleware import hardening
from middleware.errors import HANDLERS as error_handlers
from middleware.stack import STREAM_PATH
from observability.logging import configure_logging
from observability.supervisor import stop, supervise
from observability.tracing import Tracing
from observability.wiring import Observability
from schema import build_schema
from schema.apq import Bounds, documents_for
from schema.graphiql import ROUTE as GRAPHIQL_ROUTE
from schema.graphiql import GraphiQLAssets
from schema.inputs import TextLimits
from schema.limits import QueryLimits
from schema.persisted import Manifests
from schema.response_cache import Limits, response_cache_for
from schema.sse import EventStreams, GraphQLOverSSE
from schema.view import GraphQLView
from store.db import create_engine, migrate, session_factory
from store.questionnaire_book import QuestionnaireBook
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
        settings.shared_redis_url,
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
    pending = PendingLimits(settings.consent_pending_per_resident, settings.consent_pending_per_staff)
    access = Access(sessions, settings.resident_secret(), digester, chain_key(settings), pending)
    # hot reload: serve each department's active connector version (bus messages + store polling)
    reloader = Reloader(registry, sessions, spec_environ(settings), bus, poll_s=settings.reload_poll_s)

    background: list[asyncio.Task[None]] = []  # supervised: restarted if they fail, never left dangling

    async def expire_access_log() -> None:
        while True:
            cutoff = datetime.now(UTC) - timedelta(days=settings.access_log_retention_days)
            expired = await access.log.expire(cutoff)
            if expired:
                log.info(
                    "access log: %d rows past %d days expired", expired, settings.access_log_retention_days
                )
            await asyncio.sleep(settings.access_log_expiry_interval_s)

    life = Life()  # started / draining: what /readyz answers (GatewayServer drains it)

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
            if settings.access_log_retention_days:  # every process may expire: expiry is conditional
                background.append(supervise("access-log-expiry", expire_access_log))
            if settings.tune_gc:
                tune_gc()
            life.started = True  # only now may /readyz say ready: connectors are loaded
            yield
        finally:
            await stop(*background)
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
        """Readiness: started (connectors loaded), not draining, the store answers; each department's
        own state. A load balancer takes a 503 replica out of rotation."""
        if not life.started or life.draining:
            status = "draining" if life.draining else "starting"
            return JSONResponse({"status": status}, status_code=503)
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
    schema = build_schema(
        QueryLimits.from_settings(settings), TextLimits.from_settings(settings), settings.request_deadline_s
    )
    # whole answers to public queries (schema/response_cache.py); None when off
    responses = response_cache_for(
        schema._schema,
        settings.response_cache,
        settings.shared_redis_url,
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
    app.state.life = life  # started / draining: what /readyz answers
    app.state.verifier = verifier
    app.state.bus = bus
    app.state.case_watch = live.watch
    app.state.reloader = reloader
    app.state.observability = observability
    observability.watch(app)
    app.state.digester = digester  # the one way subjects are named in logs, rows and keys
    # who may see whose data; the access log chained under its own key (access/chain.py)
    app.state.access = access
    app.state.questionnaires = QuestionnaireBook(sessions)  # planners' questionnaires and the answers
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


@dataclass
class Life:
    """Where this process is in its life: /readyz says ready only between ``started`` (connectors
    loaded) and ``draining`` (a SIGTERM came: the load balancer should send no more)."""

    started: bool = False
    draining: bool = False


class GatewayServer(uvicorn.Server):
    """uvicorn with a graceful end a load balancer can follow.

    On SIGTERM: /readyz turns 503 at once while the process keeps serving, old and new requests, for
    ``drain_s`` (long enough for the balancer's health check to take it out of rotation); then it stops
    accepting, ends open event streams, and lets uvicorn close websockets (1012 "service restart":
    clients reconnect, through the balancer, to another replica), wait up to ``timeout_graceful_shutdown``
    for responses in progress, and run the lifespan's shutdown, which releases the pools. A second
    SIGTERM, or SIGINT (Ctrl-C at a terminal, no balancer), skips the drain."""

    def __init__(
        self, config: uvicorn.Config, streams: EventStreams, life: Life | None = None, drain_s: float = 0.0
    ) -> None:
        super().__init__(config)
        self.streams = streams
        self.life = life or Life()
        self.drain_s = drain_s
        self.drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self.drain_s > 0 and not self.life.draining:
            self.life.draining = True
            # uvicorn (pinned <0.55) re-raises captured signals after shutdown: the exit status says SIGTERM
            self._captured_signals.append(sig)
            self.drain_until = time.monotonic() + self.drain_s
            log.info("draining for %.1f s: /readyz answers 503, requests are still served", self.drain_s)
            return
        self.life.draining = True
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("shutting down: no new connections; waiting for responses in progress")
        for server in self.servers:
            server.close()  # first stop accepting, so clients reconnect elsewhere (or to our successor)
        await self.streams.close()
        await super().shutdown(sockets)


# the default bound on responses in progress at shutdown (ONESTOP_SHUTDOWN_GRACE_S)
SHUTDOWN_GRACE_S = int(Settings.model_fields["shutdown_grace_s"].default)


def chain_key(settings: Settings) -> ChainKey:
    """The access log's HMAC key (``ONESTOP_ACCESS_LOG_KEY``, else from the digest key's secret)."""
    own = settings.access_log_key.get_secret_value() if settings.access_log_key else None
    return ChainKey.from_secrets(own, settings.digest_secret())


def configured_secrets(settings: Settings) -> list[tuple[str, str]]:
    """(name, value) of every secret this gateway would use: its settings and the bundled specs'
    credentials and webhook secrets, variables expanded as they would be at start."""
    named = [(f"ONESTOP_{name.upper()}", value) for name, value in secret_fields(settings)]
    environ = spec_environ(settings)
    for path in sorted(settings.specs_dir.glob("*.yaml")):
        try:
            spec = parse_spec(path.read_text(encoding="utf-8"), environ)
        except (OSError, ValueError):
            continue  # an unusable spec is not served (seeding logs it)
        named += [(f"connector {spec.id}: {name}", value) for name, value in secret_fields(spec)]
    return named


def production_refusals(settings: Settings) -> list[str]:
    """Why production must not start with these settings (empty: it may): secrets whose value is written
    in this repository (named by setting or spec key, never shown), and HS256 tokens unless allowed."""
    problems = []
    if settings.jwt_secret is not None and not settings.allow_hs256:
        problems.append(
            "ONESTOP_JWT_SECRET: HS256 tokens share one secret, and whoever holds it can sign a token for "
            "any resident; verify the identity provider's RS256 tokens (ONESTOP_JWT_PUBLIC_KEY or "
            "ONESTOP_JWKS_URL), or set ONESTOP_ALLOW_HS256=true to accept the risk"
        )
    public = public_secrets(configured_secrets(settings), repository_secrets(PROJECT_ROOT))
    if public and settings.allow_repository_secrets:
        log.warning("ONESTOP_ALLOW_REPOSITORY_SECRETS: serving with public secrets: %s", "; ".join(public))
    elif public:
        problems.append(
            "these secrets are written in this repository, so they are no secret: "
            + "; ".join(public)
            + " — set each to a value of your own"
        )
    return problems


def main(sockets: list[socket.socket] | None = None) -> None:
    """Serve on ``ONESTOP_HOST:ONESTOP_PORT``, or on ``sockets`` already bound (``onestop serve
    --workers N`` binds one and hands it to each worker process)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        app = create_app(settings)
    except DigestKeyMissing as exc:
        raise SystemExit(f"onestop: not starting: {exc}") from None  # a setting to fix, not a traceback
    refusals = [] if settings.development else production_refusals(settings)
    if refusals:
        raise SystemExit("onestop: not starting in production mode:\n- " + "\n- ".join(refusals))
    if sockets is None:
        print(f"Onestop gateway: http://{settings.host}:{settings.port}/graphql ({settings.mode.value} mode)")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
    )
    server = GatewayServer(config, app.state.event_streams, app.state.life, settings.drain_seconds)
    server.run(sockets=sockets)


if __name__ == "__main__":
    main()
