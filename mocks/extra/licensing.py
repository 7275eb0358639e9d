"""区行政审批局 — the District Licensing Bureau: next links, money and durations as text.

``python -m mocks.extra.licensing [--port 8124]``. Its habits, none of which another department shares:

* ``GET /licensing/v1/services`` answers three services and, while there are more,
  ``"links": {"next": "/licensing/v1/services?after=LS-003"}``: an absolute path to follow, not a
  page number; the same link also comes as an RFC 8288 ``Link`` header;
* fees as people write them: ``"¥1,234.50"``, ``"12.50元"``, ``"3.2万元"``, ``"免费"``;
* processing times as ISO 8601 durations (``P5D``, ``P2W``, ``PT48H``), dates as ``25.11.2026``;
* no authentication at all (it is a public catalogue).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mocks.extra.common import department_app
from mocks.extra.common import main as run

PREFIX = "/licensing"
PAGE = 3


def service(
    code: str, zh: str, en: str, fee: str, duration: str, date: str, docs: list[str]
) -> dict[str, Any]:
    return {
        "code": code,
        "names": [{"lang": "zh", "text": zh}, {"lang": "en", "text": en}],
        "sector": "许可",
        "fee": fee,
        "duration": duration,
        "revised": date,
        "documents": docs,
        "channels": "  窗口 / 网上 ",
    }


SERVICES: tuple[dict[str, Any], ...] = (
    service("LS-001", "食品经营许可", "Food business licence", "免费", "P5D", "01.11.2026", ["营业执照"]),
    service(
        "LS-002", "药品零售许可", "Pharmacy licence", "¥1,234.50", "P2W", "03.11.2026", ["营业执照", "药师证"]
    ),
    service(
        "LS-003",
        "户外广告设置许可",
        "Outdoor advertising permit",
        "12.50元",
        "PT48H",
        "05.11.2026",
        ["设计图"],
    ),
    service(
        "LS-004", "建筑垃圾处置核准", "Construction waste disposal", "3.2万元", "P10D", "08.11.2026", ["合同"]
    ),
    service(
        "LS-005", "占道经营许可", "Street trading permit", "¥80", "P1W", "10.11.2026", ["身份证", "位置图"]
    ),
    service(
        "LS-006",
        "娱乐场所许可",
        "Entertainment venue licence",
        "￥500.00",
        "P20D",
        "12.11.2026",
        ["消防验收"],
    ),
    service(
        "LS-007", "旅馆业特种行业许可", "Hotel trade licence", "免费", "P15D", "15.11.2026", ["营业执照"]
    ),
)


async def services(request: web.Request) -> web.Response:
    after = request.query.get("after")
    codes = [s["code"] for s in SERVICES]
    if after is not None and after not in codes:
        return web.json_response({"error": "unknown cursor"}, status=400)
    start = 0 if after is None else codes.index(after) + 1
    page = list(SERVICES[start : start + PAGE])
    body: dict[str, Any] = {"items": page, "links": {"self": request.path_qs}}
    headers = {}
    if start + PAGE < len(SERVICES):
        following = f"{PREFIX}/v1/services?after={page[-1]['code']}"
        body["links"]["next"] = following
        headers["Link"] = f'<{following}>; rel="next"'
    return web.json_response(body, headers=headers)


def create_app() -> web.Application:
    return department_app([web.get(f"{PREFIX}/v1/services", services)])


def main(argv: list[str] | None = None) -> None:
    run("licensing", __doc__.splitlines()[0], create_app, 8124, argv)


if __name__ == "__main__":
    main()
