"""区建设工程审批中心 — the Construction Permits Centre: a home-made token login.

``python -m mocks.extra.permits [--port 8121]``. Its habits, none of which another department shares:

* ``POST /permits/auth/login`` with a JSON body ``{"appKey", "appSecret"}`` answers
  ``{"code": "0000", "data": {"accessToken": "...", "expiresIn": 7200}}``; a wrong secret is
  ``{"code": "4010"}`` (HTTP 200);
* the token travels in an ``X-Access-Token`` header, without a prefix; an expired or unknown token is
  HTTP 200 with ``{"code": "4011", "msg": "token已过期"}``. Tokens live in memory: a restart forgets
  them all, and ``POST /permits/_admin/expire-tokens`` expires them now (for tests);
* ``GET /permits/api/items?pageNo=1&pageSize=10``: ``{"code": "0000", "data": {"list": [...],
  "totalCount": n}}``; times as ``2026-11-25 09:30`` (local time), fees as ``"免费"`` or ``"200元"``,
  a boolean ``onlineAvailable`` beside a list of window names.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from mocks.extra.common import bounded, department_app
from mocks.extra.common import main as run

PREFIX = "/permits"
APP_KEY = "permits-app"
APP_SECRET = "permits-dev-secret"  # the development credential; the spec reads ${PERMITS_APP_SECRET}
LIFETIME_S = 7200
TOKENS = web.AppKey("tokens", dict[str, float])

ITEMS: tuple[dict[str, Any], ...] = (
    {
        "itemCode": "JS-0101",
        "itemName": "建设工程规划许可证核发",
        "itemNameEn": "Construction planning permit",
        "type": "规划",
        "windows": ["综合窗口"],
        "onlineAvailable": True,
        "charge": "免费",
        "limitDays": 20,
        "materials": [{"name": "申请表"}, {"name": "设计方案"}],
        "modifyTime": "2026-11-20 09:30",
    },
    {
        "itemCode": "JS-0102",
        "itemName": "建筑工程施工许可",
        "itemNameEn": "Building construction permit",
        "type": "施工",
        "windows": ["综合窗口", "自助终端"],
        "onlineAvailable": True,
        "charge": "200元",
        "limitDays": 15,
        "materials": [{"name": "申请表"}, {"name": "施工合同"}, {"name": "安全措施"}],
        "modifyTime": "2026-11-21 14:05",
    },
    {
        "itemCode": "JS-0103",
        "itemName": "竣工验收备案",
        "itemNameEn": "Completion acceptance filing",
        "type": "验收",
        "windows": ["综合窗口"],
        "onlineAvailable": False,
        "charge": "免费",
        "limitDays": 5,
        "materials": [{"name": "验收报告"}],
        "modifyTime": "2026-11-22 16:45",
    },
)


def answer(code: str, data: Any = None, msg: str = "成功") -> web.Response:
    return web.json_response({"code": code, "msg": msg, "data": data})


async def login(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return answer("4000", msg="请求体不是JSON")
    if not isinstance(body, dict) or (body.get("appKey"), body.get("appSecret")) != (APP_KEY, APP_SECRET):
        return answer("4010", msg="appKey或appSecret错误")
    token = secrets.token_hex(16)
    request.app[TOKENS][token] = time.monotonic() + LIFETIME_S
    return answer("0000", {"accessToken": token, "expiresIn": LIFETIME_S})


async def expire_tokens(request: web.Request) -> web.Response:
    request.app[TOKENS].clear()
    return web.json_response({"expired": True})


async def items(request: web.Request) -> web.Response:
    expires = request.app[TOKENS].get(request.headers.get("X-Access-Token", ""))
    if expires is None or expires < time.monotonic():
        return answer("4011", msg="token已过期")
    page = bounded(request.query.get("pageNo"), 1, 1, 1000)
    size = bounded(request.query.get("pageSize"), 10, 1, 20)
    if page is None or size is None:
        return answer("4001", msg="分页参数错误")
    start = (page - 1) * size
    return answer("0000", {"list": list(ITEMS[start : start + size]), "totalCount": len(ITEMS)})


def create_app() -> web.Application:
    app = department_app(
        [
            web.post(f"{PREFIX}/auth/login", login),
            web.post(f"{PREFIX}/_admin/expire-tokens", expire_tokens),
            web.get(f"{PREFIX}/api/items", items),
        ]
    )
    app[TOKENS] = {}
    return app


def main(argv: list[str] | None = None) -> None:
    run("permits", __doc__.splitlines()[0], create_app, 8121, argv)


if __name__ == "__main__":
    main()
