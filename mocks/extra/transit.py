"""区交通运输开放平台 — the District Transport open platform: signed requests.

``python -m mocks.extra.transit [--port 8122]``. Its habits, none of which another department shares:

* every call carries ``appKey``, ``timestamp`` (Unix milliseconds, at most 5 minutes off), ``nonce``
  (never twice) and ``sign``: the upper-case MD5 of the query parameters but ``sign``, sorted by
  name, as ``k=v`` joined by ``&``, followed by ``&key=<app secret>``. Empty values are left out;
* failures are HTTP 200 ``{"success": false, "errCode": 1001, "errMsg": "签名错误"}``, success is
  ``{"success": true, "errCode": 0, "result": {"records": [...], "pages": n, "current": n}}``;
* ``GET /transit/open/api/service/list?current=1&size=10``; flags as ``"Y"``/``"N"``
  (``windowFlag``, ``netFlag``, ``appFlag``), documents joined by ``、``, dates as ``2026/11/25``.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from aiohttp import web

from mocks.extra.common import department_app
from mocks.extra.common import main as run

PREFIX = "/transit"
APP_KEY = "transit-app"
APP_SECRET = "transit-dev-secret"  # the development credential; the spec reads ${TRANSIT_APP_SECRET}
MAX_SKEW_MS = 300_000
NONCES = web.AppKey("nonces", set[str])

SERVICES: tuple[dict[str, Any], ...] = (
    {
        "serviceNo": "JT-201",
        "serviceName": "公交老年卡办理",
        "serviceNameEn": "Senior bus card",
        "category": "出行",
        "windowFlag": "Y",
        "netFlag": "Y",
        "appFlag": "N",
        "fee": "0",
        "days": 3,
        "docs": "身份证、照片",
        "updateDate": "2026/11/18",
    },
    {
        "serviceNo": "JT-202",
        "serviceName": "残疾人停车证",
        "serviceNameEn": "Disabled parking permit",
        "category": "出行",
        "windowFlag": "Y",
        "netFlag": "N",
        "appFlag": "Y",
        "fee": "0",
        "days": 7,
        "docs": "身份证、残疾人证",
        "updateDate": "2026/11/19",
    },
    {
        "serviceNo": "JT-203",
        "serviceName": "道路临时占用许可",
        "serviceNameEn": "Temporary road occupation permit",
        "category": "许可",
        "windowFlag": "Y",
        "netFlag": "Y",
        "appFlag": "Y",
        "fee": "50",
        "days": 10,
        "docs": "申请书、现场示意图、身份证",
        "updateDate": "2026/11/20",
    },
)


def answer(result: Any = None, code: int = 0, message: str = "成功") -> web.Response:
    return web.json_response({"success": code == 0, "errCode": code, "errMsg": message, "result": result})


def signature(params: dict[str, str]) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    return hashlib.md5(f"{text}&key={APP_SECRET}".encode(), usedforsecurity=False).hexdigest().upper()


def refusal(request: web.Request) -> web.Response | None:
    """The platform's checks, in its order: app key, timestamp, nonce, signature."""
    query = dict(request.query)
    if query.get("appKey") != APP_KEY:
        return answer(code=1000, message="appKey无效")
    try:
        skew = abs(int(query.get("timestamp", "")) - int(time.time() * 1000))
    except ValueError:
        return answer(code=1002, message="timestamp无效")
    if skew > MAX_SKEW_MS:
        return answer(code=1002, message="timestamp过期")
    nonce = query.get("nonce", "")
    if not nonce or nonce in request.app[NONCES]:
        return answer(code=1003, message="nonce重复")
    if query.get("sign") != signature(query):
        return answer(code=1001, message="签名错误")
    request.app[NONCES].add(nonce)
    return None


async def service_list(request: web.Request) -> web.Response:
    refused = refusal(request)
    if refused is not None:
        return refused
    try:
        current, size = int(request.query.get("current", "1")), int(request.query.get("size", "10"))
    except ValueError:
        return answer(code=1004, message="分页参数错误")
    if current < 1 or not 1 <= size <= 2:  # the platform's pages are small
        return answer(code=1004, message="分页参数错误 (size 1-2)")
    records = list(SERVICES[(current - 1) * size : current * size])
    pages = math.ceil(len(SERVICES) / size)
    return answer({"records": records, "pages": pages, "current": current, "total": len(SERVICES)})


def create_app() -> web.Application:
    app = department_app([web.get(f"{PREFIX}/open/api/service/list", service_list)])
    app[NONCES] = set()
    return app


def main(argv: list[str] | None = None) -> None:
    run("transit", __doc__.splitlines()[0], create_app, 8122, argv)


if __name__ == "__main__":
    main()
