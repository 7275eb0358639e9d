"""The payment provider's merchant API, as a client: create an order, ask about it, close it.

Every call is signed with the merchant key and every answer's signature checked. Failures come in two
kinds the caller must tell apart: ``ProviderRefused`` (the provider answered, signed, and said no: no
money moved) and ``ProviderUnavailable`` (no trustworthy answer: the order may or may not exist, so
the caller asks again later and never assumes).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import aiohttp
import orjson

from payments.signing import signed, verified

TIMEOUT_S = 5.0


class ProviderUnavailable(Exception):
    """No signed answer (down, slow, unreadable, forged): what happened is unknown."""


class ProviderRefused(Exception):
    """The provider answered and refused (``code`` is its ``err_code``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True, slots=True)
class OrderState:
    """What the provider says about one order: ``trade_state`` SUCCESS, NOTPAY, CLOSED, ... or
    NOTEXIST when it has no such order."""

    out_trade_no: str
    trade_state: str
    total_fee: int
    transaction_id: str
    time_end: str


class ProviderClient:
    def __init__(self, base_url: str, merchant_id: str, key: str, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.merchant_id = merchant_id
        self.key = key
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def create_order(self, out_trade_no: str, total_fee: int, notify_url: str, body: str) -> None:
        """Place the order (idempotent at the provider on ``out_trade_no``)."""
        params = {"out_trade_no": out_trade_no, "total_fee": str(total_fee), "notify_url": notify_url}
        await self._call("unifiedorder", params | {"body": body, "trade_type": "APP"})

    async def query(self, out_trade_no: str) -> OrderState:
        try:
            answer = await self._call("orderquery", {"out_trade_no": out_trade_no})
        except ProviderRefused as refused:
            if refused.code == "ORDERNOTEXIST":
                return OrderState(out_trade_no, "NOTEXIST", 0, "", "")
            raise
        fee = answer.get("total_fee", "")
        return OrderState(
            out_trade_no,
            answer.get("trade_state", ""),
            int(fee) if fee.isdigit() else 0,
            answer.get("transaction_id", ""),
            answer.get("time_end", ""),
        )

    async def close(self, out_trade_no: str) -> None:
        await self._call("closeorder", {"out_trade_no": out_trade_no})

    async def _call(self, name: str, params: dict[str, str]) -> dict[str, str]:
        request = signed(
            params
            | {"mch_id": self.merchant_id, "nonce_str": secrets.token_hex(16), "sign_type": "HMAC-SHA256"},
            self.key,
        )
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        try:
            async with self._session.post(
                f"{self.base_url}/pay/{name}", data=orjson.dumps(request)
            ) as response:
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable(f"{name}: {type(exc).__name__}") from exc
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ProviderUnavailable(f"{name}: unreadable answer (HTTP {response.status})") from exc
        if not isinstance(answer, dict) or answer.get("return_code") != "SUCCESS":
            raise ProviderUnavailable(f"{name}: HTTP {response.status}, not accepted")
        if not verified(answer, self.key):
            raise ProviderUnavailable(f"{name}: the answer's signature does not verify")
        if answer.get("result_code") != "SUCCESS":
            raise ProviderRefused(str(answer.get("err_code", "FAIL")), str(answer.get("err_code_des", "")))
        return {k: str(v) for k, v in answer.items()}

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
