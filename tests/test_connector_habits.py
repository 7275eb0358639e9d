"""Departments' ordinary habits, declared in a spec (issue 13): a home-made token login, open-platform
signed requests, per-operation overrides, value conversions, JMESPath expressions and paging by next
link — each against a small department served here, or as a pure function."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from connectors.auth import SignedAuthenticator, TokenLoginAuthenticator
from connectors.cache import ResponseCache
from connectors.errors import UpstreamCode, UpstreamError
from connectors.formats import JsonReader
from connectors.mapping import MappingError, map_records, read_field
from connectors.probe import probe
from connectors.registry import Department, build_department
from connectors.spec import FieldMap, Operation, SignedAuth, TokenLoginAuth, parse_spec
from connectors.spec_check import check_spec
from connectors.transport import UpstreamRequest, UpstreamResponse

Routes = Callable[[web.Application], None]


@pytest_asyncio.fixture
async def department() -> AsyncIterator[Callable[..., Any]]:
    """``await department(routes, spec_text)``: a tiny department on a free port and its connector."""
    runners: list[web.AppRunner] = []
    built: list[Department] = []

    async def start(routes: list[web.RouteDef], spec: str) -> tuple[Department | None, str]:
        app = web.Application()
        app.add_routes(routes)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        if not spec:  # the department alone, for the probe
            return None, url
        made = build_department(parse_spec(spec.replace("URL", url), {}), 1, ResponseCache("none://"))
        built.append(made)
        return made, url

    yield start
    for made in built:
        await made.transport.close()
    for runner in runners:
        await runner.cleanup()


CATALOG = """
  catalog:
    path: /items
    items: list
    mapping: {id: code, name_zh: name, category: {path: cat, values: {x: OTHER}}}
"""


def item(code: str) -> dict[str, str]:
    return {"code": code, "name": f"事项{code}", "cat": "x"}


# -- token login -------------------------------------------------------------------------------------

LOGIN_SPEC = (
    """
id: demo
name: {zh: 演示, en: Demo}
base_url: URL/api
auth:
  kind: token_login
  path: /login
  body: {credentials: {key: "{key}", secret: "{secret}"}}
  secrets: {key: "${KEY:-k1}", secret: "${SECRET:-s1}"}
  token_path: result.token
  expires_in_path: result.ttl
  send: SEND
  expired_codes: [TOKEN_EXPIRED]
format: {kind: json}
operations:"""
    + CATALOG
)


def login_routes(seen: dict[str, Any], send_in: str = "header") -> list[web.RouteDef]:
    seen.update(logins=0, valid=set())

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"credentials": {"key": "k1", "secret": "s1"}}:
            return web.json_response({"error": "bad"}, status=401)
        seen["logins"] += 1
        await asyncio.sleep(0.05)  # the mock login's latency, part of the test: concurrent callers pile up
        token = f"t{seen['logins']}"
        seen["valid"].add(token)
        return web.json_response({"result": {"token": token, "ttl": 3600}})

    async def items(request: web.Request) -> web.Response:
        given = request.query.get("tk") if send_in == "query" else request.headers.get("X-Token")
        if given not in seen["valid"]:
            return web.json_response({"code": "TOKEN_EXPIRED"})  # HTTP 200, as many do
        return web.json_response({"list": [item("A"), item("B")]})

    return [web.post("/api/login", login), web.get("/api/items", items)]


async def test_a_token_login_is_single_flight_and_renewed_once_when_expired(
    department: Callable[..., Any],
) -> None:
    seen: dict[str, Any] = {}
    spec = LOGIN_SPEC.replace("SEND", '{header: X-Token, prefix: ""}')
    made, _ = await department(login_routes(seen), spec)
    results = await asyncio.gather(
        *(made.adapter.fetch_all("catalog", made.spec.operations["catalog"]) for _ in range(20))
    )
    assert all(len(r.records) == 2 for r in results) and seen["logins"] == 1
    seen["valid"].clear()  # the department forgets every token (a restart)
    results = await asyncio.gather(
        *(made.adapter.fetch_all("catalog", made.spec.operations["catalog"]) for _ in range(10))
    )
    assert all(len(r.records) == 2 for r in results)
    assert seen["logins"] == 2  # ten refused calls, one new login


async def test_a_token_may_travel_as_a_query_parameter(department: Callable[..., Any]) -> None:
    seen: dict[str, Any] = {}
    made, _ = await department(login_routes(seen, "query"), LOGIN_SPEC.replace("SEND", "{query_param: tk}"))
    assert len((await made.adapter.fetch_all("catalog", made.spec.operations["catalog"])).records) == 2


async def test_a_refused_login_is_auth_failed_naming_the_login_never_the_secret(
    department: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    spec = LOGIN_SPEC.replace("SEND", "{}").replace("${SECRET:-s1}", "wrong-secret-value")
    made, _ = await department(login_routes(seen), spec)
    with pytest.raises(UpstreamError) as caught:
        await made.adapter.fetch_all("catalog", made.spec.operations["catalog"])
    assert caught.value.code is UpstreamCode.AUTH_FAILED
    assert caught.value.message == "login POST /login: refused (HTTP 401)"


async def test_a_token_is_renewed_before_it_expires() -> None:
    now = [0.0]
    calls: list[UpstreamRequest] = []

    async def send(request: UpstreamRequest) -> UpstreamResponse:
        calls.append(request)
        body = orjson.dumps({"data": {"token": f"t{len(calls)}"}})
        return UpstreamResponse(200, {}, body, "application/json", None)

    spec = TokenLoginAuth.model_validate(
        {
            "kind": "token_login",
            "path": "/l",
            "token_path": "data.token",
            "lifetime_s": 100,
            "refresh_margin_s": 10,
        }
    )
    auth = TokenLoginAuthenticator(spec, "http://d", "demo", send, clock=lambda: now[0])
    request = UpstreamRequest("GET", "http://d/x")
    assert (await auth.sign(request)).headers["Authorization"] == "Bearer t1"
    now[0] = 89.0
    assert (await auth.sign(request)).headers["Authorization"] == "Bearer t1"
    now[0] = 90.5  # within the margin: renewed before the department would refuse it
    assert (await auth.sign(request)).headers["Authorization"] == "Bearer t2"
    assert orjson.loads(calls[0].body or b"") == {}


def test_secrets_of_a_login_must_come_from_variables() -> None:
    text = (
        LOGIN_SPEC.replace("URL", "http://d").replace("SEND", "{}").replace("${SECRET:-s1}", "plain-secret")
    )
    check = check_spec(text, {})
    assert [p.path for p in check.problems] == ["auth.secrets.secret"]


def test_a_login_body_may_only_name_declared_secrets() -> None:
    text = LOGIN_SPEC.replace("URL", "http://d").replace("SEND", "{}").replace('"{secret}"', '"{pasword}"')
    check = check_spec(text, {})
    assert any("pasword" in p.message for p in check.problems), check.problems


# -- signed requests ---------------------------------------------------------------------------------


def signer(**fields: Any) -> SignedAuthenticator:
    spec = SignedAuth.model_validate({"kind": "signed", "app_key": "ak", "secret": "sk", **fields})
    return SignedAuthenticator(spec, clock=lambda: 1_764_000_000.5, nonce=lambda: "n0")


async def test_md5_over_sorted_parameters_upper_case_in_the_query() -> None:
    signed = await signer().sign(UpstreamRequest("GET", "http://d/x", params=(("page", "1"), ("empty", ""))))
    params = dict(signed.params)
    text = "appKey=ak&nonce=n0&page=1&timestamp=1764000000500&key=sk"  # empty left out, sorted
    assert params["sign"] == hashlib.md5(text.encode(), usedforsecurity=False).hexdigest().upper()
    assert params["timestamp"] == "1764000000500"


async def test_hmac_sha256_over_the_body_lower_case_in_headers() -> None:
    auth = signer(
        algorithm="hmac_sha256",
        string_to_sign="{app_key}\n{timestamp}\n{nonce}\n{body}",
        timestamp_unit="s",
        case="lower",
        **{"in": "header"},
        signature_name="X-Sign",
        app_key_name="X-App",
        timestamp_name="X-Ts",
        nonce_name="X-Nonce",
    )
    signed = await auth.sign(UpstreamRequest("POST", "http://d/x", body=b'{"a":1}'))
    expected = hmac.new(b"sk", b'ak\n1764000000\nn0\n{"a":1}', hashlib.sha256).hexdigest()
    assert signed.headers["X-Sign"] == expected and signed.params == ()


async def test_sha256_with_the_secret_in_the_string() -> None:
    signed = await signer(
        algorithm="sha256", string_to_sign="{secret}{params}{secret}", nonce_name=None
    ).sign(UpstreamRequest("GET", "http://d/x"))
    text = "skappKey=ak&timestamp=1764000000500sk"
    assert dict(signed.params)["sign"] == hashlib.sha256(text.encode()).hexdigest().upper()


def test_an_unknown_placeholder_in_the_string_to_sign_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown placeholder query"):
        SignedAuth.model_validate(
            {"kind": "signed", "app_key": "a", "secret": "s", "string_to_sign": "{query}"}
        )


# -- per-operation overrides -------------------------------------------------------------------------


async def test_operations_override_auth_format_and_base_path(department: Callable[..., Any]) -> None:
    async def catalog(request: web.Request) -> web.Response:
        return (
            web.json_response({"list": [item("A")]})
            if "X-Key" not in request.headers
            else web.Response(status=400)
        )

    async def legacy(request: web.Request) -> web.Response:
        if request.headers.get("X-Key") != "secret-1":
            return web.Response(status=401)
        xml = '<?xml version="1.0" encoding="GB18030"?><r><i code="B" name="乙" cat="x"/></r>'
        return web.Response(body=xml.encode("gb18030"), headers={"Content-Type": "text/xml"})

    spec = """
id: demo
name: {zh: 演示, en: Demo}
base_url: URL/new
format: {kind: json}
operations:
  catalog:
    path: /items
    items: list
    mapping: {id: code, name_zh: name, category: {path: cat, values: {x: OTHER}}}
  stations:
    base_path: /old
    path: /stations
    format: {kind: xml}
    auth: {kind: api_key, key: "${K:-secret-1}", header: X-Key}
    items: i
    mapping:
      id: "@code"
      name: "@name"
      latitude: {path: "@cat", convert: float}
      longitude: {path: "@cat", convert: float}
"""
    made, _ = await department([web.get("/new/items", catalog), web.get("/old/stations", legacy)], spec)
    assert [
        r.id for r in (await made.adapter.fetch_all("catalog", made.spec.operations["catalog"])).records
    ] == ["A"]
    with pytest.raises(UpstreamError) as caught:  # the XML was read (GB18030), 'x' is no latitude
        await made.adapter.fetch_all("stations", made.spec.operations["stations"])
    assert "latitude (from '@cat')" in caught.value.message and "item 0 (id B)" in caught.value.message


# -- conversions -------------------------------------------------------------------------------------


def field(**spec: Any) -> FieldMap:
    return FieldMap.model_validate({"path": "v", **spec})


def read(value: Any, **spec: Any) -> Any:
    return read_field({"v": value}, JsonReader(), field(**spec))


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("¥1,234.50", 123450),
        ("12.50元", 1250),
        ("3.2万元", 3_200_000),
        ("￥ 80", 8000),
        ("RMB 5.5", 550),
        ("0", 0),
        (12, 1200),
        ("1，000元", 100000),
    ],
)
def test_money_strings_become_fen_exactly(text: Any, fen: int) -> None:
    assert read(text, convert="money") == fen


@pytest.mark.parametrize("text", ["12.345元", "about 5", "¥", "5美元", "1.2.3", True, "3,2万", "1,00元"])
def test_money_that_is_not_money_is_refused(text: Any) -> None:
    with pytest.raises(MappingError):
        read(text, convert="money")


@pytest.mark.parametrize(
    ("text", "days"), [("P5D", 5), ("P2W", 14), ("PT48H", 2), ("PT36H", 2), ("P1DT1H", 2)]
)
def test_iso_durations_become_days(text: str, days: int) -> None:
    assert read(text, convert="duration_days") == days


@pytest.mark.parametrize("text", ["P1M", "P1Y", "5 days", "P", "PT"])
def test_durations_without_a_fixed_number_of_days_are_refused(text: str) -> None:
    with pytest.raises(MappingError):
        read(text, convert="duration_days")


SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("text", "pattern", "zone", "expected"),
    [
        ("2026年11月5日", "yyyy年M月d日", "Asia/Shanghai", datetime(2026, 11, 5, tzinfo=SHANGHAI)),
        (
            "2026/11/05 14:30",
            "yyyy/MM/dd HH:mm",
            "Asia/Shanghai",
            datetime(2026, 11, 5, 14, 30, tzinfo=SHANGHAI),
        ),
        ("05.11.2026", "dd.MM.yyyy", "UTC", datetime(2026, 11, 5, tzinfo=UTC)),
        (
            "2026年11月5日 9时5分",
            "yyyy年M月d日 H时m分",
            "+09:00",
            datetime(2026, 11, 5, 9, 5, tzinfo=timezone(timedelta(hours=9))),
        ),
        ("2026-11-05T10:00:00", "iso", "Europe/Berlin", datetime(2026, 11, 5, 9, 0, tzinfo=UTC)),
    ],
)
def test_date_patterns_in_the_departments_zone(
    text: str, pattern: str, zone: str, expected: datetime
) -> None:
    assert read(text, convert="datetime", date_format=pattern, time_zone=zone) == expected


def test_a_date_that_does_not_match_its_pattern_is_refused_naming_it() -> None:
    with pytest.raises(MappingError, match="does not match 'yyyy年M月d日'"):
        read("2026-11-05", convert="datetime", date_format="yyyy年M月d日")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"date_format": "MM/yyyy"}, "neither one of"),
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"expr": "names[?lang=='zh'"}, "not a JMESPath expression"),
    ],
)
def test_conversions_are_checked_with_the_spec(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        FieldMap.model_validate({"path": "v", **spec} if "expr" not in spec else spec)


def test_booleans_in_the_departments_words() -> None:
    assert read("是", convert="bool") is True and read("N", convert="bool") is False
    assert read("有", convert="bool", true_words=["有"], false_words=["无"]) is True
    with pytest.raises(MappingError, match="neither of true_words"):
        read("是", convert="bool", true_words=["有"], false_words=["无"])


def test_trim_split_and_join() -> None:
    assert read(" 【身份证】 ", trim="【】") == "身份证"
    assert read(["甲", "乙"], join="、") == "甲、乙"
    assert read(" 窗口 / 网上 ", convert="list", split="/") == ("窗口", "网上")


def test_a_value_that_cannot_be_converted_names_the_record_and_the_field() -> None:
    operation = Operation.model_validate(
        {
            "path": "/s",
            "mapping": {
                "id": "code",
                "name_zh": {"expr": "names[?lang=='zh'].text | [0]"},
                "category": {"path": "cat", "values": {"x": "OTHER"}},
                "processing_days": {"path": "d", "convert": "duration_days"},
            },
        }
    )
    items = [
        {"code": "A", "names": [{"lang": "zh", "text": "甲"}], "cat": "x", "d": "P3D"},
        {"code": "B", "names": [{"lang": "zh", "text": "乙"}], "cat": "x", "d": "P1M"},
    ]
    result = map_records(items, JsonReader(), operation, "catalog", "demo")
    assert [(r.id, r.name_zh, r.processing_days) for r in result.records] == [("A", "甲", 3)]
    assert result.problems == (
        "item 1 (id B): operations.catalog.mapping.processing_days (from 'd'): "
        "'P1M' is not an ISO 8601 duration in weeks, days or hours",
    )


def test_an_expression_on_an_xml_operation_is_refused_when_checked() -> None:
    text = """
id: demo
name: {zh: 演示, en: Demo}
base_url: http://d
format: {kind: xml}
operations:
  catalog:
    path: /s
    items: s
    mapping: {id: {expr: code}, name_zh: n, category: c}
"""
    check = check_spec(text, {})
    assert [p.path for p in check.problems] == ["operations.catalog.mapping.id.expr"]


# -- paging by next link -----------------------------------------------------------------------------

LINKS = """
id: demo
name: {zh: 演示, en: Demo}
base_url: URL/api
format: {kind: json}
operations:
  catalog:
    path: /items
    items: list
    pagination: {style: next_link, next_path: NEXT}
    max_pages: 5
    mapping: {id: code, name_zh: name, category: {path: cat, values: {x: OTHER}}}
"""


def link_routes(next_of: Callable[[int, str], str | None], header: bool = False) -> list[web.RouteDef]:
    async def items(request: web.Request) -> web.Response:
        page = int(request.query.get("p", "1"))
        if page == 99:
            return web.Response(status=503)
        following = next_of(page, f"http://{request.host}")
        body: dict[str, Any] = {"list": [item(f"{page}-{i}") for i in range(2)]}
        if header:
            headers = {"Link": f'<{following}>; rel="next", </api/items>; rel="first"'} if following else {}
            return web.json_response(body, headers=headers)
        body["paging"] = {"next": following}
        return web.json_response(body)

    return [web.get("/api/items", items)]


async def walk(department: Callable[..., Any], routes: list[web.RouteDef], next_path: str) -> Any:
    made, _ = await department(routes, LINKS.replace("NEXT", next_path))
    return await made.adapter.fetch_all("catalog", made.spec.operations["catalog"])


async def test_next_links_in_the_body_are_followed_to_the_end(department: Callable[..., Any]) -> None:
    result = await walk(
        department, link_routes(lambda p, _: f"/api/items?p={p + 1}" if p < 3 else None), "paging.next"
    )
    assert len(result.records) == 6


async def test_next_links_in_the_link_header_as_full_urls(department: Callable[..., Any]) -> None:
    routes = link_routes(lambda p, host: f"{host}/api/items?p={p + 1}" if p < 2 else None, header=True)
    assert len((await walk(department, routes, "header:Link")).records) == 4


@pytest.mark.parametrize(
    ("next_of", "message"),
    [
        (lambda p, _: "http://169.254.169.254/latest?p=2", "leaves the department's host"),
        (lambda p, _: f"/api/items?p={p % 2 + 1}", "next page link repeats"),
        (lambda p, _: f"/api/items?p={p + 1}", "more than 5 pages"),
    ],
)
async def test_a_next_link_elsewhere_in_a_loop_or_without_end_is_refused(
    department: Callable[..., Any], next_of: Callable[[int, str], str], message: str
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await walk(department, link_routes(next_of), "paging.next")
    assert caught.value.code is UpstreamCode.BAD_RESPONSE and message in caught.value.message


async def test_a_page_that_fails_fails_the_walk_never_truncates_it(department: Callable[..., Any]) -> None:
    with pytest.raises(UpstreamError) as caught:
        await walk(department, link_routes(lambda p, _: "/api/items?p=99"), "paging.next")
    assert caught.value.code is UpstreamCode.UNAVAILABLE


CURSOR = """
id: demo
name: {zh: 演示, en: Demo}
base_url: URL/api
format: {kind: json, envelope: {code_field: code, ok_codes: [0], data_field: data}}
operations:
  catalog:
    path: /items
    items: rows
    pagination: {style: cursor, cursor_param: c, limit_param: null, next_cursor_path: CURSOR}
    mapping: {id: code, name_zh: name, category: {path: cat, values: {x: OTHER}}}
"""


def cursor_routes() -> list[web.RouteDef]:
    async def items(request: web.Request) -> web.Response:
        page = int(request.query.get("c", "0"))
        following = str(page + 1) if page < 2 else None
        rows = [item(f"{page}-{i}") for i in range(2)] if page < 2 else [item("last")]
        return web.json_response({"code": 0, "data": {"rows": rows}, "page": {"next": following}})

    return [web.get("/api/items", items)]


async def test_a_cursor_beside_the_envelope_is_followed_not_silently_dropped(
    department: Callable[..., Any],
) -> None:
    made, _ = await department(cursor_routes(), CURSOR.replace("CURSOR", "page.next"))
    assert len((await made.adapter.fetch_all("catalog", made.spec.operations["catalog"])).records) == 5


async def test_a_cursor_path_pointing_nowhere_is_an_error_not_a_last_page(
    department: Callable[..., Any],
) -> None:
    made, _ = await department(cursor_routes(), CURSOR.replace("CURSOR", "paging.next"))
    with pytest.raises(UpstreamError) as caught:
        await made.adapter.fetch_all("catalog", made.spec.operations["catalog"])
    assert "no 'paging' in the answer" in caught.value.message


async def test_the_probe_reports_records_per_page_and_whether_the_last_was_reached(
    department: Callable[..., Any],
) -> None:
    _, url = await department(link_routes(lambda p, _: f"/api/items?p={p + 1}" if p < 3 else None), "")
    [whole] = (
        await probe(parse_spec(LINKS.replace("URL", url).replace("NEXT", "paging.next"), {}))
    ).operations
    assert whole.ok and whole.pages == (2, 2, 2) and whole.last_page_reached
    assert "paging: 3 pages (2, 2, 2 records), the last page was reached" in whole.problems
    _, url = await department(link_routes(lambda p, _: "/api/items?p=99"), "")
    [cut] = (await probe(parse_spec(LINKS.replace("URL", url).replace("NEXT", "paging.next"), {}))).operations
    assert not cut.ok and cut.last_page_reached is False
    assert cut.problems[0] == "UPSTREAM_UNAVAILABLE: department answered HTTP 503"
    assert cut.problems[1].startswith("last request: GET /api/items -> HTTP 503")
    assert cut.problems[2] == "paging: stopped after 1 pages (2 records), the last page was not reached"


# -- a department that already speaks GraphQL ---------------------------------------------------------

GRAPHQL = """
id: demo
name: {zh: 演示, en: Demo}
base_url: URL
format: {kind: graphql}
operations:
  catalog:
    method: POST
    path: /graphql
    document: >-
      query($after: String, $first: Int) {
      services(after: $after, first: $first) { nodes { code name } next } }
    items: services.nodes
    pagination:
      {style: cursor, cursor_param: after, limit_param: first, limit: 2, next_cursor_path: services.next}
    mapping: {id: code, name_zh: name, category: {path: code, values: {A: OTHER, B: OTHER, C: OTHER}}}
  cases:
    path: /graphql
    document: "query($id: ID!) { cases(resident: $id) { ref state } }"
    variables: {id: "{resident_id}"}
    items: cases
    public: false
    mapping: {id: ref, service_id: ref, status: {path: state, values: {open: SUBMITTED}}}
"""


def graphql_routes(seen: list[dict[str, Any]]) -> list[web.RouteDef]:
    async def answer(request: web.Request) -> web.Response:
        asked = await request.json()
        seen.append(asked)
        variables = asked["variables"]
        if "cases" in asked["query"]:
            if variables["id"] != "310115194503030012":
                return web.json_response(
                    {
                        "data": None,
                        "errors": [{"message": "无权限 310115…", "extensions": {"code": "FORBIDDEN"}}],
                    }
                )
            return web.json_response({"data": {"cases": [{"ref": "R1", "state": "open"}]}})
        codes = ["A", "B", "C"]
        start = 0 if variables.get("after") is None else codes.index(variables["after"]) + 1
        page = codes[start : start + variables["first"]]
        following = page[-1] if start + len(page) < len(codes) else None
        nodes = [{"code": c, "name": f"事项{c}"} for c in page]
        return web.json_response({"data": {"services": {"nodes": nodes, "next": following}}})

    return [web.post("/graphql", answer)]


async def test_a_graphql_department_is_a_source(department: Callable[..., Any]) -> None:
    seen: list[dict[str, Any]] = []
    made, _ = await department(graphql_routes(seen), GRAPHQL)
    result = await made.adapter.fetch_all("catalog", made.spec.operations["catalog"])
    assert [r.id for r in result.records] == ["A", "B", "C"]
    assert [s["variables"] for s in seen] == [{"first": 2}, {"first": 2, "after": "B"}]  # paging as variables
    cases = await made.adapter.fetch_all(
        "cases", made.spec.operations["cases"], {"resident_id": "310115194503030012"}
    )
    assert [(c.id, c.status.value) for c in cases.records] == [("R1", "SUBMITTED")]
    assert seen[-1]["variables"] == {"id": "310115194503030012"}  # a value, never spliced into the document
    with pytest.raises(UpstreamError) as caught:
        await made.adapter.fetch_all(
            "cases", made.spec.operations["cases"], {"resident_id": "310115199001010011"}
        )
    assert caught.value.code is UpstreamCode.AUTH_FAILED
    assert caught.value.message == "GraphQL errors (FORBIDDEN)"  # the code, never the message's data


def test_a_graphql_operation_needs_its_document() -> None:
    text = GRAPHQL.replace("URL", "http://d").replace(
        '    document: "query($id: ID!) { cases(resident: $id) { ref state } }"\n', ""
    )
    check = check_spec(text, {})
    assert [p.path for p in check.problems] == ["operations.cases.document"]


async def test_pages_capped_below_the_size_asked_are_an_error_not_a_partial_list(
    department: Callable[..., Any],
) -> None:
    async def items(request: web.Request) -> web.Response:
        page, size = int(request.query["page"]), min(int(request.query["size"]), 2)  # caps at 2
        codes = [str(i) for i in range(5)][(page - 1) * size : page * size]
        return web.json_response({"total": 5, "list": [item(c) for c in codes]})

    spec = CATALOG.replace(
        "items: list",
        "items: list\n    pagination: {style: page, size_param: size, size: 3, total_path: total}",
    )
    made, _ = await department(
        [web.get("/api/items", items)],
        LOGIN_SPEC.split("auth:")[0] + "format: {kind: json}\noperations:" + spec,
    )
    with pytest.raises(UpstreamError) as caught:
        await made.adapter.fetch_all("catalog", made.spec.operations["catalog"])
    assert caught.value.message == "read 4 of 5 items at /items: are its pages smaller than size 3?"


@given(
    st.integers(min_value=0, max_value=10**12),
    st.sampled_from(["¥{:,}.{:02d}", "{}.{:02d}元", "￥{}.{:02d}"]),
)
def test_money_written_any_common_way_reads_back_exactly(fen: int, form: str) -> None:
    yuan, cents = divmod(fen, 100)
    text = form.format(yuan, cents)
    assert read(text, convert="money") == fen


def test_an_operation_may_force_only_its_charset() -> None:
    spec = parse_spec(
        LOGIN_SPEC.replace("URL", "http://d")
        .replace("SEND", "{}")
        .replace("    items: list\n", "    items: list\n    charset: gb18030\n"),
        {},
    )
    fmt = spec.format_of(spec.operations["catalog"])
    assert (fmt.kind, fmt.charset) == ("json", "gb18030") and spec.format.charset is None
