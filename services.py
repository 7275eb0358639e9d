"""``Services``: every part of one gateway app, named and typed, built once by ``server.create_app``.

The app's parts (store, caches, connector registry, bus, access, live case updates, hot reload, guards,
observability, ...) used to hang on ``app.state`` and reach resolvers through an ``Any``: a part missing
or renamed was found by a request failing. Here each is a field with its type, so mypy finds it. Not to
be confused with the catalogue's government services (``schema/services.py``): these are the gateway's.

Who gets what:

- ``server.create_app`` builds it (``build_services``), keeps it as ``app.state.services`` (the one entry
  on ``app.state``; ``services_of(app)`` reads it back typed) and runs ``start``/``close`` in the lifespan.
- the GraphQL view puts it on every request's ``schema.context.Context`` (``info.context.services``).
- everything below the schema (middleware, resolvers, access, coordination, observability, ...) never
  imports this module: it is handed the one part it uses, typed (``Reloader(registry, sessions, ...)``,
  ``hardening(settings, verifier, digester)``). ``tests/test_layers.py`` checks who imports it.

Adding a part (payments, questionnaires, ...): build it in the module that owns it, then

1. add one field here, with its type: ``payments: Payments``;
2. add one argument in ``build_services``: ``payments=Payments(sessions, settings.payments_url),``;
3. if it holds connections or tasks, start/close it in ``Services.start``/``Services.close``.

Schema resolvers then read ``info.context.services.payments`` and hand it (not the ``Services``) to
the plain functions in ``resolvers/``; mypy checks every use. The part's module must not import
``schema.context`` or anything above it, or there is a cycle (``tests/test_layers.py`` finds it).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from graphql import GraphQLSchema
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from access.chain import ChainKey
from access.service import Access, LogExpiry
from access.sessions import PendingLimits
from config import Settings
from connectors.cache import ResponseCache as UpstreamCache
from connectors.registry import Registry
from coordination.bus import Bus, make_bus
from coordination.live import LiveCases
from coordination.reload import Reloader
from identity.digest import Digester
from identity.tokens import TokenVerifier
from middleware.stack import Guards, hardening
from observability.tracing import Tracing
from observability.wiring import Observability
from payments.service import Payments
from payments.wiring import build_payments
from resolvers.activities import Activities
from resolvers.volunteer_hours import Reporting, Retry
from schema.apq import Bounds, Documents, documents_for
from schema.persisted import Manifests
from schema.response_cache import Limits, response_cache_for
from schema.response_cache import ResponseCache as AnswerCache
from schema.streams import EventStreams
from store.db import create_engine, migrate, session_factory
from store.questionnaire_book import QuestionnaireBook
from store.registrations import active_specs, seed_from_directory

log = logging.getLogger("onestop")


@dataclass
class Life:
    """Where this process is in its life: /readyz says ready only between ``started`` (connectors
    loaded) and ``draining`` (a SIGTERM came: the load balancer should send no more)."""

    started: bool = False
    draining: bool = False


@dataclass(frozen=True, slots=True)
class Services:
    """One app's parts. Frozen: a part is chosen when the app is built, never swapped under a request."""

    settings: Settings
    digester: Digester  # the one way subjects are named in logs, rows and keys
    engine: AsyncEngine  # the store (SQLAlchemy); /readyz asks it
    sessions: async_sessionmaker[AsyncSession]
    cache: UpstreamCache  # department responses (connectors/cache.py)
    observability: Observability  # this app's metrics registry, tracer, /metrics
    registry: Registry  # the connectors served, one per department; requests use registry.snapshot()
    bus: Bus  # messages between gateway processes (Redis pub/sub, or this process only)
    verifier: TokenVerifier  # bearer tokens of residents, staff and admins
    access: Access  # who may see whose data: policy, assisted sessions, the access log
    access_log_expiry: LogExpiry  # a background task: access-log rows past the retention go
    live: LiveCases  # live case updates: pollers (live.watch), the department webhook
    reloader: Reloader  # hot reload: each department's active connector version
    documents: Documents  # registered by APQ clients (schema/apq.py), shared with Redis
    persisted: Manifests  # trusted documents per channel (schema/persisted.py)
    response_cache: AnswerCache | None  # whole answers to public queries; None: off
    guards: Guards  # CORS, in-flight limit, rate limits, body size (middleware/stack.py)
    event_streams: EventStreams  # open GraphQL-over-SSE streams, bounded
    life: Life  # started / draining: what /readyz answers (GatewayServer drains it)
    activities: Activities  # station activities, sign-ups, volunteers' hours (resolvers/activities.py)
    questionnaires: QuestionnaireBook  # planners' questionnaires and residents' answers (store)
    payments: Payments | None  # paying bills (payments/); None in production without a merchant key

    async def start(self) -> None:
        """Migrate the store, register the bundled connectors, serve the active ones, start the
        background work. Only then is the app ready."""
        environ = spec_environ(self.settings)
        await migrate(self.engine)
        seeded = await seed_from_directory(self.sessions, self.settings.specs_dir, environ)
        if seeded:
            log.info("registered bundled connectors: %s", ", ".join(seeded))
        self.registry.load((a.spec, a.version) for a in await active_specs(self.sessions, environ))
        log.info("serving %d departments", len(self.registry.all()))
        self.reloader.start()
        self.access_log_expiry.start()
        if self.payments is not None:
            self.payments.start()  # the reconciler: lost notifications, departments to tell again
        self.activities.start()  # the sweep: volunteers' hours the department did not confirm

    async def close(self) -> None:
        """Stop the background work, then release every pool and connection (the reverse of building)."""
        if self.payments is not None:
            await self.payments.close()
        await self.activities.close()
        await self.access_log_expiry.stop()
        await self.reloader.stop()
        await self.live.close()
        await self.registry.close()
        await self.bus.close()
        await self.documents.close()
        if self.response_cache is not None:
            await self.response_cache.close()
        await self.cache.close()
        self.observability.shutdown()
        await self.guards.close()
        await self.engine.dispose()


def digester_for(settings: Settings) -> Digester:
    """How ID numbers are named everywhere they are kept. Raises ``DigestKeyMissing`` in production
    without a digest key: a setting to fix before anything starts."""
    return Digester.from_secrets(
        settings.digest_key.get_secret_value() if settings.digest_key else None,
        settings.resident_secret(),
        production=not settings.development,
    )


def build_services(settings: Settings, schema: GraphQLSchema) -> Services:
    """Every part for ``settings``; nothing connects yet (``Services.start`` does). ``schema``: the
    GraphQL schema the response cache judges queries on. Raises ``DigestKeyMissing`` in production
    without a digest key, before anything is built."""
    digester = digester_for(settings)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    cache = UpstreamCache(settings.cache_url, settings.namespace, settings.cache_local_ttl_s)
    # its own metrics registry and tracer: two apps in one process never share counters
    observability = Observability(
        Tracing.from_setting(settings.otel, settings.otel_service_name),
        settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        digester,
    )
    registry = Registry(cache, observer=observability.upstream, digester=digester)
    bus = make_bus(settings.redis_url, settings.namespace)
    verifier = TokenVerifier(settings.token_settings())
    pending = PendingLimits(settings.consent_pending_per_resident, settings.consent_pending_per_staff)
    access = Access(sessions, settings.resident_secret(), digester, chain_key(settings), pending)
    guards = hardening(settings, verifier, digester)
    answers = response_cache_for(
        schema,
        settings.response_cache,
        settings.shared_redis_url,
        settings.cache_url,
        settings.namespace,
        settings.response_cache_max_entries,
        Limits(settings.response_cache_max_bytes, settings.response_cache_max_ttl_s),
    )
    observability.watch(registry, lambda: cache.errors, guards.inflight, guards.rate_limits, answers)
    return Services(
        settings=settings,
        digester=digester,
        engine=engine,
        sessions=sessions,
        cache=cache,
        observability=observability,
        registry=registry,
        bus=bus,
        verifier=verifier,
        access=access,
        access_log_expiry=LogExpiry(
            access.log, settings.access_log_retention_days, settings.access_log_expiry_interval_s
        ),
        live=LiveCases.build(
            lambda: registry,
            bus,
            settings.namespace,
            settings.case_poll_min_s,
            settings.case_poll_max_s,
            settings.webhook_max_body_bytes,
            digester,
        ),
        reloader=Reloader(registry, sessions, spec_environ(settings), bus, poll_s=settings.reload_poll_s),
        documents=documents_for(
            settings.shared_redis_url,
            settings.namespace,
            Bounds(settings.apq_max_documents, settings.apq_max_document_bytes, settings.apq_ttl_s),
        ),
        persisted=Manifests.load(settings.persisted_dir, settings.trusted_channels),
        response_cache=answers,
        guards=guards,
        event_streams=EventStreams(settings.sse_max_streams),
        life=Life(),
        activities=Activities.build(
            sessions,
            Reporting(
                lambda: registry, access.seal.open, access.log.write, Retry(settings.hours_report_interval_s)
            ),
        ),
        questionnaires=QuestionnaireBook(sessions),
        payments=build_payments(settings, sessions, lambda: registry),
    )


def spec_environ(settings: Settings) -> dict[str, str]:
    """Variables specs may use: the process environment plus the gateway's own settings."""
    return {**os.environ, "ONESTOP_MOCKS_URL": settings.mocks_url.rstrip("/")}


def chain_key(settings: Settings) -> ChainKey:
    """The access log's HMAC key (``ONESTOP_ACCESS_LOG_KEY``, else from the digest key's secret)."""
    own = settings.access_log_key.get_secret_value() if settings.access_log_key else None
    return ChainKey.from_secrets(own, settings.digest_secret())


def services_of(app: Starlette) -> Services:
    """The services of an app ``create_app`` built, typed (``app.state`` itself is untyped)."""
    services = getattr(app.state, "services", None)
    if not isinstance(services, Services):
        raise LookupError("this app was not built by server.create_app: it has no Services")
    return services
