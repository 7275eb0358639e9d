"""Onestop's configuration: every setting in one place, read from ``ONESTOP_*`` environment variables.

The defaults are the embedded set-up (one process, SQLite file, in-memory cache), so a fresh clone runs
with nothing to configure. Each field is documented in the README's configuration table.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

from identity.principal import ClientChannel
from identity.tokens import TokenSettings

PROJECT_ROOT = Path(__file__).resolve().parent


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONESTOP_", extra="ignore")

    mode: Mode = Field(Mode.DEVELOPMENT, description="development serves GraphiQL; production does not")
    host: str = Field("127.0.0.1", description="address the gateway listens on")
    port: int = Field(8000, ge=0, le=65535, description="port the gateway listens on")
    database_url: str = Field(
        f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'onestop.db'}",
        description="SQLAlchemy async URL; postgresql+asyncpg://... for PostgreSQL",
    )
    cache_url: str = Field("memory://", description="memory://, redis://host:port/db, or none:// (no cache)")
    cache_local_ttl_s: float = Field(
        5.0,
        ge=0,
        description="with a Redis cache, seconds each process keeps decoded public entries in memory; 0: off",
    )
    specs_dir: Path = Field(
        PROJECT_ROOT / "connectors" / "specs",
        description="connector specs loaded into the registry for departments it does not know yet",
    )
    mocks_url: str = Field(
        "http://127.0.0.1:8100",
        description="base URL of the mock departments, substituted for ${ONESTOP_MOCKS_URL} in specs",
    )

    tune_gc: bool = Field(True, description="freeze start-up objects and collect garbage less often")
    drain_s: float | None = Field(
        None,
        ge=0,
        le=300,
        description="after SIGTERM, seconds /readyz answers 503 while requests are still served, so a load "
        "balancer takes the replica out first; default 5 in production, 0 in development",
    )
    shutdown_grace_s: float = Field(
        10.0, ge=0, le=600, description="then, seconds responses in progress may take before being cancelled"
    )

    # -- whole-response cache for public queries (README, "Response cache"; schema/response_cache.py) --
    response_cache: bool = Field(
        True, description="answer a repeated public query from a cache of whole responses (off: always run)"
    )
    response_cache_max_entries: int = Field(
        10000, ge=1, description="responses kept (in Redis when there is one, else per process); oldest out"
    )
    response_cache_max_bytes: int = Field(
        262144, ge=1024, description="largest response body kept (a bigger one is answered, not kept)"
    )
    response_cache_max_ttl_s: float = Field(
        300.0, gt=0, description="longest a response is kept, even when its data stays fresh longer"
    )

    # -- observability (README, "Observability") --
    log_level: str = Field("INFO", description="DEBUG adds one line per upstream call")
    log_format: Literal["json", "text"] = Field(
        "json", description="json: one object a line; text: for a terminal"
    )
    otel: Literal["", "console", "otlp"] = Field(
        "", description="OpenTelemetry span exporter; empty: no tracing (otlp reads OTEL_EXPORTER_OTLP_*)"
    )
    otel_service_name: str = Field("onestop", description="service.name of the spans")
    metrics_token: SecretStr | None = Field(
        None, description="when set, /metrics answers only `Authorization: Bearer <token>`"
    )

    # -- identity (bearer JWTs) --
    jwt_secret: SecretStr | None = Field(
        None, description="HS256 secret for development tokens (`make demo` generates one in var/)"
    )
    jwt_public_key: str | None = Field(None, description="RS256 public key (PEM) of the identity provider")
    jwks_url: str | None = Field(None, description="RS256 keys by `kid`: the identity provider's JWKS URL")
    jwt_issuer: str | None = Field(None, description="required `iss` of tokens, when set")
    jwt_audience: str | None = Field(None, description="required `aud` of tokens, when set")
    resident_key: SecretStr | None = Field(
        None,
        description="key sealing the opaque Resident ids (the same on every replica); "
        "defaults to one derived from ONESTOP_JWT_SECRET",
    )
    digest_key: SecretStr | None = Field(
        None,
        description="key of the HMAC digests that stand for ID numbers in logs, the store, Redis keys and "
        "topics (the same on every process, kept across restarts); defaults to one derived from "
        "ONESTOP_RESIDENT_KEY, else ONESTOP_JWT_SECRET; production refuses to start with none",
    )
    allow_hs256: bool = Field(
        False,
        description="production only: accept HS256 tokens signed with ONESTOP_JWT_SECRET (every holder of "
        "the secret can mint any resident's token); without it production refuses to start with one",
    )
    allow_repository_secrets: bool = Field(
        False,
        description="production only: start even though a secret's value is written in this repository "
        "(a production-mode benchmark against the mock departments); logged as a warning at start",
    )

    # -- the access log (access/chain.py) --
    access_log_key: SecretStr | None = Field(
        None,
        description="key of the HMAC chain over each resident's access-log rows (the same on every process, "
        "kept across restarts); defaults to one derived from the digest key",
    )
    access_log_retention_days: int = Field(
        0, ge=0, description="access-log rows older than this many days are expired (anchored); 0: kept"
    )
    access_log_expiry_interval_s: float = Field(
        3600.0, gt=0, description="how often each process expires old access-log rows (with a retention)"
    )

    # -- coordination between gateway processes --
    redis_url: str | None = Field(
        None,
        description="Redis for pub/sub between processes (case updates, reloads) and shared rate limits",
    )
    namespace: str = Field("onestop", description="prefix of every Redis key and channel this gateway uses")

    # -- live case updates --
    case_poll_min_s: float = Field(
        5.0, gt=0, description="first wait between polls of a watched resident's cases at one department"
    )
    case_poll_max_s: float = Field(
        60.0, gt=0, description="longest wait: the wait doubles up to this while nothing changes"
    )
    webhook_max_body_bytes: int = Field(
        65536, ge=256, description="largest department webhook body accepted (bigger: 413)"
    )
    ws_allowed_origins: list[str] = Field(
        default_factory=list,
        description="deprecated: use ONESTOP_CORS_ORIGINS, which governs websockets and event streams too; "
        "origins listed here may still open the websocket and event streams (not call /graphql)",
    )
    sse_max_streams: int = Field(
        1000,
        ge=1,
        description="event streams (and reservations) one process holds open on /graphql/stream; "
        "past it 503 + Retry-After",
    )
    sse_heartbeat_s: float = Field(
        12.0, gt=0, le=300, description="seconds between keep-alive comments on a quiet event stream"
    )
    reload_poll_s: float = Field(
        2.0,
        gt=0,
        le=3600,
        description="how often each process asks the store which connector versions are active "
        "(with Redis, reloads also arrive at once by pub/sub and polling is the safety net)",
    )
    connector_hosts: list[str] = Field(
        default_factory=list,
        description='JSON list of host patterns registered specs may call, e.g. ["*.pudong.gov.cn"]; '
        "empty: any (development). Keeps a department admin's spec off the gateway's own network",
    )

    # -- appointments at stations (resolvers/appointments.py) --
    appointment_days: int = Field(
        14, ge=1, le=90, description="slots are offered for today and the days after, this many in all"
    )
    appointment_slot_minutes: int = Field(30, ge=5, le=240, description="length of one appointment slot")
    appointment_capacity: int = Field(
        4, ge=1, le=500, description="places in a slot when it is first made (staff may change it per slot)"
    )

    # -- paying bills (README, "Paying bills"; payments/) --
    payment_provider_url: str | None = Field(
        None,
        description="the payment provider's API; default: the mock provider at ONESTOP_MOCKS_URL/payprovider",
    )
    payment_merchant_id: str = Field("1900000109", description="our merchant number at the provider")
    payment_merchant_key: SecretStr | None = Field(
        None,
        description="key signing our calls to the provider and its notifications to us (HMAC-SHA256); "
        "development: the mock provider's; production without it: payBill is PAYMENTS_UNAVAILABLE",
    )
    payment_notify_url: str | None = Field(
        None,
        description="the URL the provider notifies (this gateway's /payments/notify as the provider reaches "
        "it); default: from the request that made the order",
    )
    payment_wait_s: float = Field(
        3.0,
        ge=0,
        le=30,
        description="how long payBill waits for the provider's confirmation before answering",
    )
    payment_query_after_s: float = Field(
        10.0, ge=0, description="an order with no notification this long is asked about (a lost notification)"
    )
    payment_poll_s: float = Field(
        5.0, gt=0, le=3600, description="how often each process reconciles payments"
    )
    payment_retry_max_s: float = Field(
        300.0,
        gt=0,
        description="longest wait between retries of a department that has not confirmed a payment",
    )
    payment_order_expiry_s: float = Field(
        900.0, gt=0, description="an order still unpaid this long is closed at the provider (CLOSED)"
    )
    payment_notify_max_skew_s: float = Field(
        300.0, gt=0, le=3600, description="how old (or early) a provider notification may be"
    )
    hours_report_interval_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="how often each process re-sends volunteers' hours the department has not confirmed",
    )

    # -- assisted sessions (README, "Hardening") --
    consent_pending_per_resident: int = Field(
        3, ge=1, description="requests for consent that may wait for one resident's answer at once"
    )
    consent_pending_per_staff: int = Field(
        20, ge=1, description="requests for consent one staff member may have waiting at once"
    )

    # -- hardening (README, "Hardening"); None means the mode's default --
    graphiql: bool | None = Field(None, description="serve GraphiQL; default: on in development only")
    introspection: bool | None = Field(None, description="answer __schema/__type; default: development only")
    max_depth: int = Field(12, ge=1, description="deepest field nesting a query may have (QUERY_TOO_DEEP)")
    max_aliases: int = Field(30, ge=0, description="aliased fields a query may have (TOO_MANY_ALIASES)")
    max_tokens: int = Field(2000, ge=10, description="lexical tokens a document may have (TOO_MANY_TOKENS)")
    max_complexity: int = Field(
        20000, ge=1, description="estimated fields resolved, lists multiplied by `first` (QUERY_TOO_COMPLEX)"
    )
    default_list_size: int = Field(10, ge=1, description="items a list without `first` counts for in cost")
    max_body_bytes: int = Field(65536, ge=1024, description="largest /graphql request body (bigger: 413)")
    request_deadline_s: float = Field(
        5.0,
        gt=0,
        le=300,
        description="seconds a query or mutation may wait for departments in all; one still working "
        "then is UPSTREAM_TIMEOUT with null for its data",
    )
    max_string_length: int = Field(
        1000, ge=16, description="characters in one string argument or variable (ids, names, search)"
    )
    max_text_length: int = Field(
        65536, ge=1024, description="characters in one free-text argument (a connector spec, a form answer)"
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="browser origins allowed to call /graphql, open its websocket and its event streams, "
        'JSON: ["https://…"]',
    )
    max_in_flight: int = Field(
        256, ge=1, description="requests one process works on at once; past it 503 + Retry-After at once"
    )
    rate_limit_client: float | None = Field(
        None, ge=0, description="requests/s per client (token subject, else IP); 0 off; production default 20"
    )
    rate_limit_client_burst: int = Field(40, ge=1, description="requests a client may send at once")
    rate_limit_channels: dict[str, float] = Field(
        default_factory=dict, description='requests/s per channel for all its clients, JSON: {"kiosk": 200}'
    )
    persisted_dir: Path = Field(
        PROJECT_ROOT / "persisted", description="trusted documents: <channel>.json, sha256 → query"
    )
    trusted_documents_app: bool = Field(False, description="the app channel may send persisted queries only")
    trusted_documents_wechat: bool = Field(False, description="WeChat may send persisted queries only")
    trusted_documents_kiosk: bool = Field(False, description="kiosks may send persisted queries only")
    apq_max_documents: int = Field(
        10000,
        ge=0,
        description="documents APQ clients may register at run time (unlocked channels; in Redis when "
        "there is one, else per process); the oldest go first; 0: no registration",
    )
    apq_max_document_bytes: int = Field(
        16384, ge=256, description="longest document registered (longer ones run, unregistered)"
    )
    apq_ttl_s: float = Field(
        86400.0, gt=0, description="seconds a registered document is kept (then the client registers again)"
    )

    @field_validator("cors_origins", "ws_allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        """Origins as browsers send them (``https://app.example``, lower case, no default port), so the
        CORS and websocket checks match; a URL with a path is refused at start, not silently useless."""
        normalized = normalize_allowed_origins(origins)  # ValueError names the bad entry
        return sorted(normalized)

    @field_validator("rate_limit_channels")
    @classmethod
    def _known_channels(cls, rates: dict[str, float]) -> dict[str, float]:
        """A misspelt channel would silently go unlimited: refuse it at start."""
        unknown = set(rates) - {c.value for c in ClientChannel}
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}: app, wechat, kiosk, counter or unknown")
        return rates

    @property
    def development(self) -> bool:
        return self.mode is Mode.DEVELOPMENT

    @property
    def drain_seconds(self) -> float:
        if self.drain_s is not None:
            return self.drain_s
        return 0.0 if self.development else 5.0

    @property
    def graphiql_enabled(self) -> bool:
        return self.development if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return self.development if self.introspection is None else self.introspection

    @property
    def trusted_channels(self) -> list[str]:
        """Channels that may run their trusted documents only."""
        locked = {"app": self.trusted_documents_app, "wechat": self.trusted_documents_wechat}
        locked["kiosk"] = self.trusted_documents_kiosk
        return [channel for channel, on in locked.items() if on]

    @property
    def shared_redis_url(self) -> str | None:
        """The Redis every gateway process shares state in (registered APQ documents, cached responses):
        ``redis_url``, else a ``redis://`` cache URL; None: each process keeps its own in memory."""
        if self.redis_url:
            return self.redis_url
        return self.cache_url if self.cache_url.startswith(("redis://", "rediss://")) else None

    @property
    def stream_origins(self) -> list[str]:
        """Origins whose pages may open the websocket and event streams: ``cors_origins`` (one setting
        for a web app's HTTP and live updates) plus the deprecated ``ws_allowed_origins``."""
        return list(dict.fromkeys([*self.cors_origins, *self.ws_allowed_origins]))

    @property
    def client_rate(self) -> float:
        """Requests/s per client; off in development unless set (tests and benchmarks share one IP)."""
        if self.rate_limit_client is not None:
            return self.rate_limit_client
        return 0.0 if self.development else 20.0

    def resident_secret(self) -> str | None:
        """What ``Resident.id`` handles are sealed with: the resident key, else the JWT secret."""
        secret = self.resident_key or self.jwt_secret
        return secret.get_secret_value() if secret else None

    def digest_secret(self) -> str | None:
        """What the digest key comes from: ``ONESTOP_DIGEST_KEY``, else the resident secret."""
        return self.digest_key.get_secret_value() if self.digest_key else self.resident_secret()

    def token_settings(self) -> TokenSettings:
        return TokenSettings(
            secret=self.jwt_secret.get_secret_value() if self.jwt_secret else None,
            public_key=self.jwt_public_key,
            jwks_url=self.jwks_url,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
        )
