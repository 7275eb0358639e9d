"""The Onestop gateway: a Starlette app wiring the app's parts (services.py) to the schema and routes.

Wiring only. ``create_app(settings)`` builds the app (tests build their own); ``python server.py`` serves
it with uvicorn on ``ONESTOP_HOST:ONESTOP_PORT``. Its parts (store, caches, connectors, bus, access, ...)
are built, started and closed by ``services.py``; a new part is added there, not here.
"""

from __future__ import annotations

import gc
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import FrameType

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from config import PROJECT_ROOT, Settings
from connectors.spec import parse_spec
from identity.digest import DigestKeyMissing
from identity.public_secrets import public as public_secrets
from identity.public_secrets import repository_secrets, secret_fields
from middleware.errors import HANDLERS as error_handlers
from middleware.stack import STREAM_PATH
from observability.logging import configure_logging
from payments.wiring import payment_routes
from schema import build_schema
from schema.graphiql import ROUTE as GRAPHIQL_ROUTE
from schema.graphiql import GraphiQLAssets
from schema.inputs import TextLimits
from schema.limits import QueryLimits
from schema.sse import GraphQLOverSSE
from schema.streams import EventStreams
from schema.view import GraphQLView
from services import Life, Services, build_services, digester_for, services_of, spec_environ

log = logging.getLogger("onestop")


def create_app(settings: Settings | None = None) -> Starlette:
    """The gateway for ``settings``: its parts (services.py), the routes, the guards, the lifespan."""
    settings = settings or Settings()
    schema = build_schema(
        QueryLimits.from_settings(settings), TextLimits.from_settings(settings), settings.request_deadline_s
    )
    services = build_services(settings, schema._schema)  # DigestKeyMissing: refused before anything starts
    # GraphiQL's page and bundle come with the project (no CDN: intranets and kiosks reach none)
    graphiql = GraphiQLAssets.load() if settings.graphiql_enabled else None
    graphql = GraphQLView(
        schema,
        services,
        graphiql=graphiql,
        allowed_origins=settings.stream_origins,  # ONESTOP_CORS_ORIGINS (+ the deprecated WS list)
    )
    if settings.ws_allowed_origins:
        log.warning("ONESTOP_WS_ALLOWED_ORIGINS is deprecated: list the origins in ONESTOP_CORS_ORIGINS")
    # GraphQL over Server-Sent Events (graphql-sse, both modes), for clients that cannot use websockets
    streams = GraphQLOverSSE(
        graphql, services.event_streams, settings.stream_origins, settings.sse_heartbeat_s
    )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),  # subscriptions over graphql-transport-ws
        Route(STREAM_PATH, streams, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/healthz", healthz),
        Route("/readyz", readiness(services)),
        Route("/metrics", services.observability.endpoint),
        *services.live.routes,  # POST /webhooks/{department}
        *payment_routes(services.payments),  # POST /payments/notify
    ]
    if graphiql is not None:
        routes.append(Route(GRAPHIQL_ROUTE, graphiql.endpoint, methods=["GET"]))
    app = Starlette(
        routes=routes,
        # outermost first: request ids, metrics, access log; then CORS, in-flight limit, rate limits,
        # body size, before any GraphQL work (middleware/stack.py)
        middleware=[services.observability.middleware(), *services.guards.middleware],
        lifespan=lifespan(services),
        exception_handlers=dict(error_handlers),  # typed JSON: 404, 405, and a 500 never a traceback
    )
    app.state.services = services  # the one entry on app.state: services_of(app) reads it typed
    return app


def lifespan(services: Services) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[None]:
        try:
            await services.start()
            if services.settings.tune_gc:
                tune_gc()
            services.life.started = True  # only now may /readyz say ready: connectors are loaded
            yield
        finally:
            await services.close()

    return run


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process answers. Says nothing of departments (that is /readyz)."""
    return JSONResponse({"status": "ok"})


def readiness(services: Services) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: started (connectors loaded), not draining, the store answers; each department's
        own state. A load balancer takes a 503 replica out of rotation."""
        life = services.life
        if not life.started or life.draining:
            status = "draining" if life.draining else "starting"
            return JSONResponse({"status": status}, status_code=503)
        try:
            async with services.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            store = "ok"
        except Exception as exc:
            store = f"unavailable ({type(exc).__name__})"
        departments = {d.id: d.state() for d in services.registry.all()}
        ready = store == "ok" and bool(departments)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "store": store, "departments": departments},
            status_code=200 if ready else 503,
        )

    return readyz


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


def refuse_to_start(settings: Settings) -> None:
    """Exit with the reasons (``SystemExit``, never a traceback) when these settings must not serve.

    Checked once, by whatever process starts serving: ``onestop serve --workers N`` checks before it
    starts any worker, so a refused setting stops the command instead of workers dying and being
    started again forever."""
    try:
        digester_for(settings)
    except DigestKeyMissing as exc:
        raise SystemExit(f"onestop: not starting: {exc}") from None
    refusals = [] if settings.development else production_refusals(settings)
    if refusals:
        raise SystemExit("onestop: not starting in production mode:\n- " + "\n- ".join(refusals))


def main(sockets: list[socket.socket] | None = None) -> None:
    """Serve on ``ONESTOP_HOST:ONESTOP_PORT``, or on ``sockets`` already bound (``onestop serve
    --workers N`` binds one and hands it to each worker process)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    if sockets is None:  # a worker of ``onestop serve --workers N``: its parent checked already
        refuse_to_start(settings)
    app = create_app(settings)
    if sockets is None:
        print(f"Onestop gateway: http://{settings.host}:{settings.port}/graphql ({settings.mode.value} mode)")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
    )
    services = services_of(app)
    server = GatewayServer(config, services.event_streams, services.life, settings.drain_seconds)
    server.run(sockets=sockets)


if __name__ == "__main__":
    main()
