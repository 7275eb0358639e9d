"""One app's observability: its metrics registry, its tracer, the upstream observer and ``/metrics``.

``server.create_app`` builds one ``Observability`` per app, hands ``upstream`` to the connector registry,
puts ``RequestObserver`` outermost in the middleware, serves ``endpoint`` at ``/metrics`` and calls
``watch(...)`` with the parts whose figures are read at scrape time (services.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.registry import Registry
from identity.digest import Digester
from observability.metrics import Metrics, StateSource
from observability.requests import RequestObserver
from observability.tracing import Tracing
from observability.upstream import UpstreamWatch

UNAUTHENTICATED = "UNAUTHENTICATED"


class Observability:
    def __init__(
        self,
        tracing: Tracing | None = None,
        metrics_token: str | None = None,
        digester: Digester | None = None,
    ) -> None:
        self.metrics = Metrics()
        self.digester = digester or Digester.ephemeral()  # names subjects in the access log
        self.tracing = tracing or Tracing()
        self.upstream = UpstreamWatch(self.metrics, self.tracing)
        self.metrics_token = metrics_token
        self._middleware: RequestObserver | None = None

    def middleware(self) -> Middleware:
        return Middleware(_Installed, observability=self)

    def watch(
        self,
        registry: Registry,
        cache_errors: Callable[[], int],
        inflight: object = None,
        rate_limits: object = None,
        response_cache: object = None,
    ) -> None:
        """Read these at scrape time: the connectors served, the cache's error count, the in-flight
        limit and rate limits (``middleware/``: read by attribute, so observability imports none of it),
        and the whole-response cache's counters (``schema/response_cache.py``; None when off)."""
        self.metrics.watch(
            StateSource(
                registry=lambda: registry,
                cache_errors=cache_errors,
                inflight=lambda: inflight,
                own_in_flight=lambda: self._middleware.in_flight if self._middleware else 0,
                rate_limits=lambda: rate_limits,
                response_cache=lambda: response_cache,
            )
        )

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics`` in Prometheus' text format; with ``ONESTOP_METRICS_TOKEN`` set, only for
        ``Authorization: Bearer <that token>``."""
        if self.metrics_token is not None and not _authorized(request, self.metrics_token):
            return JSONResponse(
                {
                    "errors": [
                        {"message": "metrics need the metrics token", "extensions": {"code": UNAUTHENTICATED}}
                    ]
                },
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Response(self.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    def shutdown(self) -> None:
        self.tracing.shutdown()


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class _Installed(RequestObserver):
    """The middleware instance Starlette builds, made known to its ``Observability`` (for in-flight)."""

    def __init__(self, app: Any, observability: Observability) -> None:
        super().__init__(app, observability)
        observability._middleware = self
