"""规划和自然资源局 — planning and natural resources: its services and residents' cases (办件).

Its habits, inherited from the same vendor as the community platform: a `{code, msg, data}` JSON
envelope, pinyin field names, `pageNo`/`pageSize` paging (at most 200 a page), an API key header,
dates as `yyyyMMdd` (a case's history loses its time of day) and case statuses as pinyin words
(`tijiao`, `shouli`, ... `chehui`).  A business failure is HTTP 200 with a non-zero `code`, so a
gateway must read the envelope, not only the status line.

Fees (收费) of fee-bearing services are paid through a channel, which then reports the payment (缴费
通知, `POST /api/anjian/jiaofei`) with its transaction number (`jiaoyi_liushui`): reported again with
the same number it answers the same; another number for a case already paid, an amount that is not the
service's fee, or a free service are business failures (code 4091, 4092, 4093).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web

from mocks import auth
from mocks.applications import Accepted, Submissions, application_path, json_object
from mocks.criteria import criteria_json
from mocks.departments import Department, Mounted
from mocks.departments.community import bad_request, envelope, page_of, refused
from mocks.openapi import (
    CRITERION_SCHEMA,
    Schema,
    api_key_scheme,
    integer,
    json_content,
    object_schema,
    page_no_params,
    query_param,
    served,
    string,
)
from mocks.world import Case, CaseStatus, Channel, Service, World, is_valid_id_number

PREFIX = "/planning-land"
API_KEY = "gh-dev-key"
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 20

CHANNELS = {
    Channel.WINDOW: "chuangkou",
    Channel.ONLINE: "wangshang",
    Channel.APP: "app",
    Channel.WECHAT: "weixin",
    Channel.KIOSK: "zizhuji",
}
STATUSES = {
    CaseStatus.SUBMITTED: "tijiao",
    CaseStatus.ACCEPTED: "shouli",
    CaseStatus.IN_REVIEW: "shencha",
    CaseStatus.NEEDS_INFO: "buzheng",
    CaseStatus.APPROVED: "pizhun",
    CaseStatus.REJECTED: "buyu",
    CaseStatus.COMPLETED: "banjie",
    CaseStatus.WITHDRAWN: "chehui",
}

Row = dict[str, Any]


# -- this department --------------------------------------------------------------------------------


def system_error() -> web.Response:
    """How this system fails: HTTP 200, envelope code 9999."""
    return envelope(None, code=9999, msg="系统异常，请稍后再试")


def day(moment: datetime | date | None) -> str | None:
    """A date the department's way, `yyyyMMdd` (Shanghai time, as every moment in the world is)."""
    return None if moment is None else moment.strftime("%Y%m%d")


def service_row(service: Service) -> Row:
    """One service (事项) in the department's pinyin vocabulary."""
    return {
        "bianma": service.code,
        "mingcheng": service.name_zh,
        "yingwen_mingcheng": service.name_en,
        "miaoshu": service.description,
        "leibie": service.category,
        "qudao": ",".join(CHANNELS[c] for c in service.channels),
        "shoufei": service.fee_fen,
        "banli_tianshu": service.processing_days,
        "cailiao": ";".join(service.documents),
        "gengxin_riqi": day(service.updated_at),
        "tiaojian": criteria_json(service.criteria),
    }


def case_row(case: Case) -> Row:
    """One case (案件) with its history (流程), every status in the department's pinyin."""
    return {
        "anjian_bianhao": case.ref,
        "shixiang_bianma": case.service,
        "zhuangtai": STATUSES[case.status],
        "tijiao_riqi": day(case.submitted_at),
        "gengxin_riqi": day(case.updated_at),
        "xia_yi_bu": case.next_action,
        "yuji_banjie": day(case.expected_completion),
        "liucheng": [
            {"riqi": day(e.at), "zhuangtai": STATUSES[e.status], "beizhu": e.note_zh} for e in case.history
        ],
    }


@dataclass(frozen=True, slots=True)
class FeePaid:
    """A fee reported paid by a channel."""

    txn: str
    amount_fen: int
    paid_at: str


class FeeDesk:
    """The fees reported paid, by case reference (kept for the life of the mock server)."""

    def __init__(self) -> None:
        self.by_case: dict[str, FeePaid] = {}

    def report(self, case: Case, service: Service, paid: FeePaid) -> tuple[int, str] | None:
        """None when recorded (or already recorded under the same transaction); else (code, msg)."""
        known = self.by_case.get(case.ref)
        if known is not None:
            return None if known.txn == paid.txn else (4091, "该案件已缴费")
        if service.fee_fen <= 0:
            return (4093, "该事项不收费")
        if paid.amount_fen != service.fee_fen:
            return (4092, f"缴费金额应为{service.fee_fen}分")
        self.by_case[case.ref] = paid
        return None


def fee_row(case: Case, desk: FeeDesk) -> Row:
    """A case with its fee state (`jiaofei`: the channel's transaction, or null while unpaid)."""
    paid = desk.by_case.get(case.ref)
    return case_row(case) | {"jiaofei": None if paid is None else paid.txn}


def fee_report(body: dict[str, Any]) -> tuple[str, FeePaid] | str:
    """(case reference, the payment) from a 缴费通知, or what is wrong with it."""
    ref, txn, amount, when = (
        body.get(k) for k in ("anjian_bianhao", "jiaoyi_liushui", "jine_fen", "zhifu_shijian")
    )
    if not isinstance(ref, str) or not ref:
        return "缺少anjian_bianhao"
    if not isinstance(txn, str) or not 1 <= len(txn) <= 64:
        return "缺少jiaoyi_liushui"
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return "jine_fen须为正整数（分）"
    if not isinstance(when, str) or not when:
        return "缺少zhifu_shijian"
    return ref, FeePaid(txn, amount, when)


def rows_by_resident(cases: Iterable[Case]) -> dict[str, list[Row]]:
    """Each applicant's case rows, in submission order, rendered once at start-up."""
    grouped: dict[str, list[Row]] = {}
    for case in cases:
        grouped.setdefault(case.resident, []).append(case_row(case))
    return grouped


#: Handlers behind the department's API key check.
keyed = auth.guard(lambda request: auth.api_key_ok(request, API_KEY), refused)


def _listing(summary: str, row_ref: str, extra_params: list[Schema]) -> Schema:
    envelope_ref = {"$ref": "#/components/schemas/Envelope"}
    page = object_schema({"total": integer("总条数"), "rows": {"type": "array", "items": {"$ref": row_ref}}})
    return {
        "get": {
            "summary": summary,
            "parameters": extra_params + page_no_params(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE),
            "responses": {
                "200": {
                    "description": "code 0 on success; a non-zero code (e.g. 9999 系统异常) is a failure",
                    "content": json_content({"allOf": [envelope_ref, {"properties": {"data": page}}]}),
                },
                "400": {
                    "description": "bad parameters (envelope code 400)",
                    "content": json_content(envelope_ref),
                },
                "401": {
                    "description": "missing or wrong X-Api-Key (code 401)",
                    "content": json_content(envelope_ref),
                },
            },
        }
    }


def openapi() -> Schema:
    """The OpenAPI 3 description of exactly the routes below."""
    statuses = list(STATUSES.values())
    event = object_schema(
        {
            "riqi": string("日期 yyyyMMdd"),
            "zhuangtai": {"type": "string", "enum": statuses},
            "beizhu": string("备注"),
        }
    )
    nullable_text = {"type": "string", "nullable": True}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区规划和自然资源局政务服务接口",
            "version": "1.2.0",
            "description": "Services (事项) and residents' cases (案件). Dates yyyyMMdd; case statuses: "
            "tijiao 提交, shouli 受理, shencha 审查, buzheng 补正, pizhun 批准, buyu 不予批准, "
            "banjie 办结, chehui 撤回.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/shixiang/list": _listing("事项列表 (services)", "#/components/schemas/Shixiang", []),
            "/api/anjian/list": _listing(
                "案件列表 (a resident's cases)",
                "#/components/schemas/Anjian",
                [query_param("sfzh", {"type": "string", "pattern": r"^\d{17}[\dX]$"}, "身份证号", True)],
            ),
            "/api/anjian/shenqing": application_path(
                "申请 (submit an application); qingqiu_bianhao is the idempotency key, a reused one "
                "with another application is code 4090",
                object_schema(
                    {
                        "qingqiu_bianhao": string("请求编号 (idempotency key)"),
                        "sfzh": string("身份证号"),
                        "shixiang_bianma": string("事项编码"),
                        "cailiao": string("材料, ';'-separated"),
                        "biaodan": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                    optional=("qingqiu_bianhao", "cailiao", "biaodan"),
                ),
                "#/components/schemas/Anjian",
                None,
            ),
            "/api/anjian/jiaofei": application_path(
                "缴费通知 (a channel reports a fee paid); idempotent on jiaoyi_liushui; 4040 no such case, "
                "4091 paid under another transaction, 4092 not the service's fee, 4093 a free service",
                object_schema(
                    {
                        "anjian_bianhao": string("案件编号"),
                        "jiaoyi_liushui": string("交易流水号 (the channel's transaction number)"),
                        "jine_fen": integer("金额 (fen)"),
                        "zhifu_shijian": string("支付时间 ISO 8601"),
                        "dingdan_hao": string("订单号 (the channel's order number)"),
                    },
                    optional=("dingdan_hao",),
                ),
                "#/components/schemas/Anjian",
                None,
            ),
        },
        "components": {
            "securitySchemes": {"apiKey": api_key_scheme("X-Api-Key")},
            "schemas": {
                "Envelope": object_schema(
                    {"code": integer("0 = success"), "msg": string("消息"), "data": {"nullable": True}}
                ),
                "Shixiang": object_schema(
                    {
                        "bianma": string("事项编码, e.g. GH-001"),
                        "mingcheng": string("名称"),
                        "yingwen_mingcheng": string("英文名称"),
                        "miaoshu": string("描述"),
                        "leibie": string("类别"),
                        "qudao": string("渠道, comma-separated: " + "|".join(CHANNELS.values())),
                        "shoufei": integer("收费 (fen)"),
                        "banli_tianshu": integer("办理天数"),
                        "cailiao": string("申请材料, ';'-separated"),
                        "gengxin_riqi": string("更新日期 yyyyMMdd"),
                        "tiaojian": {"type": "array", "items": CRITERION_SCHEMA},
                    }
                ),
                "Anjian": object_schema(
                    {
                        "anjian_bianhao": string("案件编号, e.g. GH/2026/00042"),
                        "shixiang_bianma": string("事项编码"),
                        "zhuangtai": {"type": "string", "enum": statuses},
                        "tijiao_riqi": string("提交日期 yyyyMMdd"),
                        "gengxin_riqi": string("更新日期 yyyyMMdd"),
                        "xia_yi_bu": nullable_text | {"description": "下一步; null once the case is final"},
                        "yuji_banjie": nullable_text | {"description": "预计办结日期 yyyyMMdd"},
                        "liucheng": {"type": "array", "items": event},
                        "jiaofei": nullable_text
                        | {"description": "缴费交易流水号; only in a 缴费通知's answer, null while unpaid"},
                    },
                    optional=("jiaofei",),
                ),
            },
        },
    }


def build(world: World) -> Mounted:
    """The services listing, the case listing and the description, all rendered once."""
    services = [service_row(s) for s in world.services_of("planning-land")]
    cases = rows_by_resident(world.cases_of("planning-land"))
    submissions = Submissions(world, "planning-land")
    seeded = {c.ref: c for c in world.cases_of("planning-land")}
    fees = FeeDesk()

    async def list_services(request: web.Request) -> web.StreamResponse:
        return page_of(request, services, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)

    async def list_cases(request: web.Request) -> web.StreamResponse:
        sfzh = request.query.get("sfzh")
        if not sfzh:
            return bad_request("缺少sfzh")
        if not is_valid_id_number(sfzh):
            return bad_request("sfzh不是有效的身份证号")
        mine = cases.get(sfzh, []) + [case_row(c) for c in submissions.cases_of(sfzh)]
        return page_of(request, mine, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)

    async def apply(request: web.Request) -> web.StreamResponse:
        """申请: `qingqiu_bianhao` (request number) in the body makes a repeat answer the same case;
        a number reused for another application is a business failure (HTTP 200, code 4090)."""
        body = await json_object(request)
        if body is None:
            return bad_request("请求体须为JSON对象")
        documents = [d for d in str(body.get("cailiao") or "").split(";") if d]
        answers = body.get("biaodan") or {}
        if not isinstance(answers, dict):
            return bad_request("biaodan须为对象")
        key = body.get("qingqiu_bianhao")
        outcome = submissions.submit(
            None if key is None else str(key),
            str(body.get("sfzh", "")),
            str(body.get("shixiang_bianma", "")),
            documents,
            {str(k): str(v) for k, v in answers.items()},
        )
        if isinstance(outcome, Accepted):
            return envelope(case_row(outcome.case))
        if outcome.conflict:
            return envelope(None, code=4090, msg=outcome.reason)
        return bad_request(outcome.reason)

    async def pay_fee(request: web.Request) -> web.StreamResponse:
        """缴费通知: a channel reports a fee paid; idempotent on `jiaoyi_liushui`."""
        body = await json_object(request)
        report = "请求体须为JSON对象" if body is None else fee_report(body)
        if isinstance(report, str):
            return bad_request(report)
        ref, paid = report
        case = seeded.get(ref) or submissions.case(ref)
        service = None if case is None else world.service(case.service)
        if case is None or service is None:
            return envelope(None, code=4040, msg="案件不存在")
        refusal = fees.report(case, service, paid)
        if refusal is not None:
            return envelope(None, code=refusal[0], msg=refusal[1])
        return envelope(fee_row(case, fees))

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/api/shixiang/list", keyed(list_services)),
            web.get(f"{PREFIX}/api/anjian/list", keyed(list_cases)),
            web.post(f"{PREFIX}/api/anjian/shenqing", keyed(apply)),
            web.post(f"{PREFIX}/api/anjian/jiaofei", keyed(pay_fee)),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=system_error,
    )


DEPARTMENT = Department(
    id="planning-land",
    name_zh="规划和自然资源局",
    name_en="Planning and Natural Resources Bureau",
    prefix=PREFIX,
    capabilities=("catalog", "cases", "applications"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
