"""Building the payments service from the settings, and the routes and task it brings to the app."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import Route

from config import Settings
from connectors.registry import Registry
from payments.ledger import Ledger
from payments.notify import PATH, NotifyEndpoint
from payments.provider import ProviderClient
from payments.service import Payments, Timing

log = logging.getLogger("onestop.payments")

#: the mock provider's development key (mocks/payprovider.py): used only in development mode
DEVELOPMENT_KEY = "onestop-payprovider-dev-key-2026"


def merchant_key(settings: Settings) -> str | None:
    if settings.payment_merchant_key is not None:
        return settings.payment_merchant_key.get_secret_value()
    return DEVELOPMENT_KEY if settings.development else None


def build_payments(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], registry: Callable[[], Registry]
) -> Payments | None:
    """The service, or None (payBill answers PAYMENTS_UNAVAILABLE) in production without a merchant key."""
    key = merchant_key(settings)
    if key is None:
        log.warning("ONESTOP_PAYMENT_MERCHANT_KEY is not set: bills cannot be paid through this gateway")
        return None
    url = settings.payment_provider_url or f"{settings.mocks_url.rstrip('/')}/payprovider"
    timing = Timing(
        wait_s=settings.payment_wait_s,
        query_after_s=settings.payment_query_after_s,
        retry_max_s=settings.payment_retry_max_s,
        order_expiry_s=settings.payment_order_expiry_s,
        notify_max_skew_s=settings.payment_notify_max_skew_s,
        poll_s=settings.payment_poll_s,
    )
    provider = ProviderClient(url, settings.payment_merchant_id, key)
    return Payments(Ledger(sessions), provider, registry, timing, notify_url=settings.payment_notify_url)


def payment_routes(payments: Payments | None) -> list[Route]:
    """``POST /payments/notify`` (none without the service)."""
    if payments is None:
        return []
    endpoint = NotifyEndpoint(payments, payments.provider.merchant_id, payments.provider.key)
    return [Route(PATH, endpoint.handle, methods=["POST"])]
