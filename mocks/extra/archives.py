"""区档案馆 — the District Archives: a department Onestop does not ship with, for the onboarding guide.

Runs alone: ``python -m mocks.extra.archives [--host 127.0.0.1] [--port 8120]`` (``--port 0`` picks a
free port; the first line printed is ``archives mock at http://host:port``).

Its habits, none of which the 19 bundled departments share exactly:

* ``GET /archives/api/fw/list?appkey=…&start=0&rows=20`` — the API key is a query parameter, paging is
  ``start``/``rows`` offsets with the total inside the envelope;
* an envelope ``{"status": "SUCCESS" | "FAIL", "message": "…", "result": {"total": n, "rows": [...]}}``;
  failures (a wrong key included) are HTTP 200 with ``status: FAIL``;
* field names are pinyin initials: ``fwbm`` code, ``fwmc`` name, ``ywmc`` English name, ``fwsm``
  description, ``fwlb`` category in Chinese words, ``qd`` channels joined by ``|`` in Chinese,
  ``sf`` fee in yuan as text (``"5.00"``), ``blsx`` processing days, ``cl`` documents joined by a
  full-width ``；``, ``gxsj`` updated at in epoch *seconds*.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mocks.extra.common import bounded
from mocks.extra.common import main as run

PREFIX = "/archives"
APP_KEY = "archives-dev-key"  # the development credential; the spec reads ${ARCHIVES_APP_KEY}
MAX_ROWS = 50

SERVICES: tuple[dict[str, Any], ...] = (
    {
        "fwbm": "DA-001",
        "fwmc": "个人档案查阅",
        "ywmc": "Personal records lookup",
        "fwsm": "查阅本人在区档案馆保存的档案",
        "fwlb": "查档服务",
        "qd": "窗口|网上",
        "sf": "0.00",
        "blsx": 1,
        "cl": "身份证",
        "gxsj": 1764028800,
    },
    {
        "fwbm": "DA-002",
        "fwmc": "婚姻登记档案证明",
        "ywmc": "Marriage registration record certificate",
        "fwsm": "出具婚姻登记档案的证明",
        "fwlb": "婚姻档案",
        "qd": "窗口|自助机",
        "sf": "0.00",
        "blsx": 3,
        "cl": "身份证；户口簿",
        "gxsj": 1764028800,
    },
    {
        "fwbm": "DA-003",
        "fwmc": "学籍档案复印",
        "ywmc": "School record copies",
        "fwsm": "复印学籍档案并加盖档案馆章",
        "fwlb": "学籍档案",
        "qd": "窗口",
        "sf": "5.00",
        "blsx": 5,
        "cl": "身份证；委托书",
        "gxsj": 1763942400,
    },
    {
        "fwbm": "DA-004",
        "fwmc": "房产档案查询",
        "ywmc": "Property records search",
        "fwsm": "查询房屋产权档案",
        "fwlb": "房产档案",
        "qd": "窗口|网上|自助机",
        "sf": "12.50",
        "blsx": 7,
        "cl": "身份证；产权证",
        "gxsj": 1763856000,
    },
)


def envelope(result: Any = None, status: str = "SUCCESS", message: str = "成功") -> web.Response:
    return web.json_response({"status": status, "message": message, "result": result})


async def service_list(request: web.Request) -> web.Response:
    """The catalogue, ``rows`` at a time from ``start``."""
    if request.query.get("appkey") != APP_KEY:
        return envelope(status="FAIL", message="appkey 无效")
    start = bounded(request.query.get("start"), 0, 0, 10_000)
    rows = bounded(request.query.get("rows"), 20, 0, MAX_ROWS)
    if start is None or rows is None or rows == 0:
        return envelope(status="FAIL", message=f"start/rows 参数错误 (rows 1-{MAX_ROWS})")
    return envelope({"total": len(SERVICES), "rows": list(SERVICES[start : start + rows])})


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes([web.get(f"{PREFIX}/api/fw/list", service_list)])
    return app


def main(argv: list[str] | None = None) -> None:
    run("archives", __doc__.splitlines()[0], create_app, 8120, argv)


if __name__ == "__main__":
    main()
