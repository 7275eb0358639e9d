"""区养老服务中心 — the District Elderly Care Centre: a JSON catalogue and an XML case system in GB18030.

``python -m mocks.extra.elderly [--port 8123]``. Its habits, none of which another department shares:

* two systems on one host: the catalogue is JSON at ``GET /elderly/api/catalog`` (one list, no
  paging, no envelope); cases come from an older XML service at ``GET /elderly-ws/CaseQuery?sfzh=…``
  under another base path;
* the XML is GB18030: declared in its prolog only (``Content-Type: text/xml`` without a charset);
* dates in Chinese: ``2026年11月25日`` and ``2026年11月20日 14时30分`` (local time), case statuses
  as words (``已受理``, ``审核中``, ``需补充材料``, ``已办结``), the urgent flag as ``是``/``否``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mocks.extra.common import department_app
from mocks.extra.common import main as run

PREFIX, CASES_PREFIX = "/elderly", "/elderly-ws"
TEST_RESIDENT = "310115194503030012"  # the test resident the Centre knows (cases below)

SERVICES: tuple[dict[str, Any], ...] = (
    {
        "id": "YL-01",
        "title": {"zh": "居家养老服务补贴", "en": "Home care subsidy"},
        "kind": "养老",
        "ways": "窗口,网上",
        "price": "0",
        "days": 15,
        "needs": "身份证,评估报告",
        "changed": "2026年11月10日",
    },
    {
        "id": "YL-02",
        "title": {"zh": "养老机构入住申请", "en": "Care home admission"},
        "kind": "养老",
        "ways": "窗口",
        "price": "0",
        "days": 30,
        "needs": "身份证,体检报告,户口簿",
        "changed": "2026年11月12日",
    },
    {
        "id": "YL-03",
        "title": {"zh": "老年助餐卡办理", "en": "Senior meal card"},
        "kind": "助餐",
        "ways": "窗口,网上,自助机",
        "price": "20",
        "days": 3,
        "needs": "身份证",
        "changed": "2026年11月15日",
    },
)

CASES = """<?xml version="1.0" encoding="GB18030"?>
<案件列表>
  <案件 编号="YL2026-0001" 急办="否">
    <事项>YL-01</事项>
    <状态>审核中</状态>
    <受理日期>2026年11月20日</受理日期>
    <更新时间>2026年11月24日 10时05分</更新时间>
    <办理经过>
      <环节 时间="2026年11月20日 14时30分" 状态="已受理">窗口受理</环节>
      <环节 时间="2026年11月24日 10时05分" 状态="审核中">上门评估完成</环节>
    </办理经过>
  </案件>
  <案件 编号="YL2026-0002" 急办="是">
    <事项>YL-03</事项>
    <状态>已办结</状态>
    <受理日期>2026年11月01日</受理日期>
    <更新时间>2026年11月03日 16时00分</更新时间>
    <办理经过>
      <环节 时间="2026年11月1日 9时00分" 状态="已受理">网上申请</环节>
      <环节 时间="2026年11月3日 16时00分" 状态="已办结">助餐卡已发放</环节>
    </办理经过>
  </案件>
</案件列表>
"""
EMPTY = '<?xml version="1.0" encoding="GB18030"?>\n<案件列表/>\n'


async def catalog(request: web.Request) -> web.Response:
    return web.json_response(list(SERVICES))


async def cases(request: web.Request) -> web.Response:
    sfzh = request.query.get("sfzh", "")
    if len(sfzh) != 18:
        return web.Response(status=400, text="sfzh 参数错误", content_type="text/plain")
    body = CASES if sfzh == TEST_RESIDENT else EMPTY
    # the charset is in the prolog only, as the old service sends it
    return web.Response(body=body.encode("gb18030"), headers={"Content-Type": "text/xml"})


def create_app() -> web.Application:
    return department_app(
        [web.get(f"{PREFIX}/api/catalog", catalog), web.get(f"{CASES_PREFIX}/CaseQuery", cases)]
    )


def main(argv: list[str] | None = None) -> None:
    run("elderly", __doc__.splitlines()[0], create_app, 8123, argv)


if __name__ == "__main__":
    main()
