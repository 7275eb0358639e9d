"""Onboarding through the admin API: register with probe, drafts, versions, rollback, disable/enable,
scoping with an audit trail — on one in-process gateway over the real mocks and the Archives mock."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from identity.principal import Role
from resolvers import admin as admin_module
from store.audit import entries
from store.registrations import versions
from tests.conftest import Gateway, GatewayFactory
from tests.onboarding_support import (
    ARCHIVES_IDS,
    DEPARTMENTS,
    EXAMPLE,
    SECRET,
    SERVICES,
    archive_ids,
    archives_url,  # noqa: F401 (fixture)
    bearer,
    dept_admin,
    operator,
    register,
    token,
    version_two,
)


@pytest.fixture
async def gateway_with_archives(
    make_gateway: GatewayFactory,
    archives_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Gateway:
    monkeypatch.setenv("ARCHIVES_URL", archives_url)
    return await make_gateway(jwt_secret=SECRET)


def result(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    registered: dict[str, Any] = body["data"]["registerConnector"]
    return registered


async def test_a_new_department_is_served_after_one_registration(gateway_with_archives: Gateway) -> None:
    gateway = gateway_with_archives
    assert archive_ids(await gateway.query(SERVICES)) == set()
    registered = result(await register(gateway, EXAMPLE, operator()))
    assert (registered["outcome"], registered["department"], registered["version"]) == (
        "ACTIVE",
        "archives",
        1,
    )
    catalog = registered["probe"]["operations"][0]
    assert (catalog["capability"], catalog["ok"], catalog["records"]) == ("catalog", True, 4)
    assert sum(catalog["pages"]) == 4 and catalog["lastPageReached"] is True  # the whole catalogue
    assert catalog["samples"][0]["category"] == "DAILY_LIFE"  # 查档服务, mapped
    assert catalog["samples"][0]["channels"] == ["STATION", "ONLINE"]  # 窗口|网上
    body = await gateway.query(SERVICES)
    assert archive_ids(body) == ARCHIVES_IDS
    fees = await gateway.query('{ service(id: "DA-004") { feeFen } }')
    assert fees["data"]["service"]["feeFen"] == 1250  # "12.50" yuan


async def test_the_same_spec_twice_writes_no_new_version(gateway_with_archives: Gateway) -> None:
    result(await register(gateway_with_archives, EXAMPLE, operator()))
    again = result(await register(gateway_with_archives, EXAMPLE, operator()))
    assert (again["outcome"], again["version"]) == ("UNCHANGED", 1)


async def test_a_broken_spec_is_refused_with_every_problem_and_its_line(
    gateway_with_archives: Gateway,
) -> None:
    broken = EXAMPLE.replace("    cache_ttl_s: 300\n", "    cache_ttl_s: 300\n    timout_s: 3\n").replace(
        "kind: json", "kind: jsn"
    )
    registered = result(await register(gateway_with_archives, broken, operator()))
    assert registered["outcome"] == "REFUSED" and registered["version"] is None
    problems = {p["path"]: p for p in registered["validation"]["problems"]}
    lines = broken.splitlines()
    assert "kind: jsn" in lines[problems["format.kind"]["line"] - 1]
    assert "one of 'json', 'xml', 'csv'" in problems["format.kind"]["expected"]
    typo = problems["operations.catalog.timout_s"]
    assert "timout_s" in lines[typo["line"] - 1] and typo["expected"] == "'timeout_s'?"
    sessions = gateway_with_archives.services.sessions
    assert await versions(sessions, "archives") == []  # nothing stored
    assert [e.outcome for e in await entries(sessions, "archives")] == ["refused"]


async def test_a_spec_whose_probe_fails_is_a_draft_unless_forced(gateway_with_archives: Gateway) -> None:
    wrong_items = EXAMPLE.replace("items: rows", "items: list")
    draft = result(await register(gateway_with_archives, wrong_items, operator()))
    assert (draft["outcome"], draft["version"]) == ("DRAFT", 1)
    first, request = draft["probe"]["operations"][0]["problems"]
    assert first == "UPSTREAM_BAD_RESPONSE: no list at 'list'"
    assert request.startswith("last request: GET /archives/api/fw/list -> HTTP 200, ")  # no appkey shown
    assert "appkey" not in request and "archives-dev-key" not in request
    assert archive_ids(await gateway_with_archives.query(SERVICES)) == set()  # not served
    forced = result(
        await register(
            gateway_with_archives, EXAMPLE.replace("items: rows", "items: none"), operator(), force=True
        )
    )
    assert (forced["outcome"], forced["version"]) == ("ACTIVE", 2)
    departments = (await gateway_with_archives.query(DEPARTMENTS))["data"]["departments"]
    assert {"id": "archives", "nameEn": "District Archives", "connectorVersion": 2} in departments


async def test_rollback_diff_disable_and_enable(gateway_with_archives: Gateway) -> None:
    gateway = gateway_with_archives
    result(await register(gateway, EXAMPLE, operator()))
    assert result(await register(gateway, version_two(), operator()))["version"] == 2
    assert await names(gateway) == {"archives": ("Pudong District Archives", 2)}
    diff = await gateway.query('{ connectorDiff(department: "archives") }', None, **operator())
    assert "-name: {zh: 区档案馆, en: District Archives}" in diff["data"]["connectorDiff"]
    assert "+name: {zh: 区档案馆, en: Pudong District Archives}" in diff["data"]["connectorDiff"]
    rolled = await gateway.query('mutation { rollbackConnector(department: "archives") }', None, **operator())
    assert rolled["data"]["rollbackConnector"] == 1
    assert await names(gateway) == {"archives": ("District Archives", 1)}
    off = await gateway.query('mutation { disableConnector(department: "archives") }', None, **operator())
    assert off["data"]["disableConnector"] == 1
    assert await names(gateway) == {}
    assert archive_ids(await gateway.query(SERVICES)) == set()
    on = await gateway.query('mutation { enableConnector(department: "archives") }', None, **operator())
    assert on["data"]["enableConnector"] == 1
    assert await names(gateway) == {"archives": ("District Archives", 1)}
    forward = await gateway.query(
        'mutation { rollbackConnector(department: "archives", toVersion: 2) }', None, **operator()
    )
    assert forward["data"]["rollbackConnector"] == 2
    missing = await gateway.query(
        'mutation { rollbackConnector(department: "archives", toVersion: 9) }', None, **operator()
    )
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    actions = [(e.action, e.outcome, e.version) for e in await entries(gateway.services.sessions, "archives")]
    assert actions[:6] == [
        ("rollback", "refused", 9),
        ("rollback", "ok", 2),
        ("enable", "ok", 1),
        ("disable", "ok", 1),
        ("rollback", "ok", 1),
        ("register", "active", 2),
    ]


async def names(gateway: Gateway) -> dict[str, tuple[str, int]]:
    departments = (await gateway.query(DEPARTMENTS))["data"]["departments"]
    return {d["id"]: (d["nameEn"], d["connectorVersion"]) for d in departments if d["id"] == "archives"}


async def test_a_department_admin_cannot_touch_another_departments_connector(
    gateway_with_archives: Gateway,
) -> None:
    gateway = gateway_with_archives
    health_admin = dept_admin("health", subject="it-health")
    refused = await register(gateway, EXAMPLE, health_admin)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused["data"] is None
    for mutation in (
        'mutation { rollbackConnector(department: "commerce") }',
        'mutation { disableConnector(department: "commerce") }',
    ):
        body = await gateway.query(mutation, None, **health_admin)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    read = await gateway.query(
        '{ connector(department: "commerce") { versions { spec } } }', None, **health_admin
    )
    assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "commerce" in {d["id"] for d in (await gateway.query(DEPARTMENTS))["data"]["departments"]}
    sessions = gateway.services.sessions
    assert await versions(sessions, "archives") == []
    trail = [(e.actor, e.role, e.department, e.action, e.outcome) for e in await entries(sessions)]
    assert trail == [
        ("it-health", "dept_admin", "commerce", "read", "forbidden"),
        ("it-health", "dept_admin", "commerce", "disable", "forbidden"),
        ("it-health", "dept_admin", "commerce", "rollback", "forbidden"),
        ("it-health", "dept_admin", "archives", "register", "forbidden"),
    ]
    # their own department is theirs to change, and only it is listed for them
    own = result(await register(gateway, EXAMPLE, dept_admin("archives")))
    assert own["outcome"] == "ACTIVE"
    listed = await gateway.query("{ connectors { department } }", None, **dept_admin("archives"))
    assert listed["data"]["connectors"] == [{"department": "archives"}]


async def test_residents_staff_and_anonymous_callers_are_refused(gateway_with_archives: Gateway) -> None:
    gateway = gateway_with_archives
    anonymous = await register(gateway, EXAMPLE, {})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    resident_id = "310115195601011234"
    for headers in (
        bearer(token(Role.RESIDENT, subject=resident_id)),
        bearer(token(Role.STAFF, subject="s-1", station="ST-0001")),
    ):
        body = await register(gateway, EXAMPLE, headers)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    rows = await entries(gateway.services.sessions)
    assert {r.role for r in rows} == {"resident", "staff"}
    assert all(resident_id not in r.actor and resident_id not in r.detail for r in rows)  # only a digest


async def test_stored_specs_keep_variables_unexpanded(gateway_with_archives: Gateway) -> None:
    result(await register(gateway_with_archives, EXAMPLE, operator()))
    body = await gateway_with_archives.query(
        '{ connector(department: "archives") { versions { spec } } }', None, **operator()
    )
    stored = body["data"]["connector"]["versions"][0]["spec"]
    assert "${ARCHIVES_APP_KEY:-archives-dev-key}" in stored and stored == EXAMPLE


async def test_a_change_that_loses_a_race_is_a_typed_conflict(
    gateway_with_archives: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def collide(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("INSERT", {}, Exception("uq_connector_department_version"))

    monkeypatch.setattr(admin_module, "register", collide)
    body = await register(gateway_with_archives, EXAMPLE, operator())
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "try again" in body["errors"][0]["message"]
    sessions = gateway_with_archives.services.sessions
    assert [(e.action, e.outcome) for e in await entries(sessions, "archives")] == [("register", "conflict")]


async def test_specs_may_call_only_the_hosts_the_operator_allows(
    make_gateway: GatewayFactory,
    archives_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARCHIVES_URL", archives_url)
    strict = await make_gateway(jwt_secret=SECRET, connector_hosts=["*.pudong.gov.cn"])
    refused = result(await register(strict, EXAMPLE, operator()))
    assert refused["outcome"] == "REFUSED"
    [problem] = refused["validation"]["problems"]
    assert problem["path"] == "base_url" and problem["message"] == "host '127.0.0.1' is not allowed here"
    assert EXAMPLE.splitlines()[problem["line"] - 1].startswith("base_url:")
    assert await versions(strict.services.sessions, "archives") == []  # nothing stored, nothing called
    allowed = await make_gateway(jwt_secret=SECRET, connector_hosts=["*.pudong.gov.cn", "127.0.0.1"])
    assert result(await register(allowed, EXAMPLE, operator()))["outcome"] == "ACTIVE"
