"""``POST /payments/notify``: the provider's asynchronous notification, believed only when it proves itself.

Refused, in this order, each with the provider's ``{"return_code": "FAIL", "return_msg": ...}``:
a body over 16 KiB (413, read no further); one that is not a flat JSON object of strings (400); a
signature that does not verify under the merchant key, or another merchant's number (401); a
timestamp further than ``max_skew_s`` from our clock (403, stale); a nonce seen before, on any
process (403, replayed — the nonce table's primary key decides); an order we never made (404); an
amount that is not the bill's (400). Anything else is acknowledged with ``SUCCESS``, also when the
payment had already moved on (the provider stops resending), and the payment is confirmed
(``Payments.paid``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from observability.throttle import ThrottledLog
from payments.service import Payments, time_end
from payments.signing import verified

log = logging.getLogger("onestop.payments")
_throttled = ThrottledLog(log)  # a flood of forged calls must not flood the log

PATH = "/payments/notify"
MAX_BODY_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    message: str


def _fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"return_code": "FAIL", "return_msg": message}, status_code=status)


async def read_bounded(request: Request) -> bytes | Refusal:
    """The body, read no further than ``MAX_BODY_BYTES``."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return Refusal(413, "body too large")
            chunks.append(chunk)
    except ClientDisconnect:
        return Refusal(400, "the body was cut off")
    return b"".join(chunks)


def parse(body: bytes) -> dict[str, str] | Refusal:
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Refusal(400, "not JSON")
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        return Refusal(400, "a flat JSON object of strings")
    return params


def check_signed(
    params: dict[str, str], merchant_id: str, key: str, now_s: float, max_skew_s: float
) -> Refusal | None:
    """Signature, merchant and freshness: what needs no store."""
    if not verified(params, key) or params.get("mch_id") != merchant_id:
        return Refusal(401, "SIGNERROR")
    stamp = params.get("timestamp", "")
    if not stamp.isdigit() or abs(now_s - int(stamp)) > max_skew_s:
        return Refusal(403, "stale notification")
    if not 16 <= len(params.get("nonce_str", "")) <= 64:
        return Refusal(400, "nonce_str missing")
    return None


class NotifyEndpoint:
    """The Starlette endpoint (``handle``) and the checks it makes (``check``)."""

    def __init__(self, payments: Payments, merchant_id: str, key: str) -> None:
        self.payments = payments
        self.merchant_id = merchant_id
        self.key = key

    async def handle(self, request: Request) -> JSONResponse:
        body = await read_bounded(request)
        parsed = parse(body) if isinstance(body, bytes) else body
        refusal = parsed if isinstance(parsed, Refusal) else await self.check(parsed)
        if refusal is not None:
            _throttled.warning(
                f"notify {refusal.status}", "payment notification refused: %s", refusal.message
            )
            return _fail(refusal.status, refusal.message)
        return JSONResponse({"return_code": "SUCCESS", "return_msg": "OK"})

    async def check(self, params: dict[str, str]) -> Refusal | None:
        """None when the notification was taken (and acted on), else why not."""
        now = self.payments.clock()
        skew = self.payments.timing.notify_max_skew_s
        refusal = check_signed(params, self.merchant_id, self.key, now.timestamp(), skew)
        if refusal is not None:
            return refusal
        if not await self.payments.ledger.first_sight(params["nonce_str"], now):
            return Refusal(403, "replayed notification")
        payment = await self.payments.ledger.get(params.get("out_trade_no", ""))
        if payment is None:
            return Refusal(404, "no such order")
        fee = params.get("total_fee", "")
        if params.get("trade_state", "SUCCESS") != "SUCCESS" or params.get("result_code") != "SUCCESS":
            return None  # told of something other than a payment: nothing to do, nothing to resend
        paid_at = time_end(params.get("time_end", ""), now)
        if not fee.isdigit() or not await self.payments.paid(
            payment, params.get("transaction_id", ""), int(fee), paid_at
        ):
            return Refusal(400, "amount or transaction does not match the order")
        return None
