"""Done-when of issue 13: four departments Onestop has never seen — a home-made token login, signed
requests, JSON + GB18030 XML under two base paths, next links with money and durations as text — each
go live from its spec alone (docs/examples/<id>.yaml, written as docs/onboarding.md says) and one
``onestop connector`` CLI call, on two real gateway processes over one database, without a code change
or a restart; then survive an expired token and a restart of the department.

Each onboarding (validate, probe, register, served by both processes) is timed and printed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from config import PROJECT_ROOT
from identity.principal import Role
from mocks.server import RunningMocks
from tests.conftest import TEST_NAMESPACE
from tests.onboarding_support import SECRET, bearer, token
from tests.test_reload_processes import VISIBLE_WITHIN_S, cli, spawn, stop, wait_healthy, within

EXAMPLES = PROJECT_ROOT / "docs" / "examples"
DEPARTMENTS = ("permits", "transit", "elderly", "licensing")
ELDERLY_RESIDENT = "310115194503030012"  # the Centre's test resident (its spec's probe.resident_id)
SERVICES = """query($d: [ID!]) { services(first: 100, filter: {departments: $d}) {
  edges { node { id feeFen processingDays updatedAt channels department { id } } } } }"""
CASES = """{ me { cases(departments: ["elderly"]) {
  id status departmentStatus updatedAt history { at status departmentStatus note } } } }"""


async def post(
    url: str, document: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Any:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{url}/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
    assert response.status_code == 200, response.text
    return response.json()


async def stats(department_url: str) -> dict[str, int]:
    async with httpx.AsyncClient(timeout=10) as client:
        answer: dict[str, int] = (await client.get(f"{department_url}/_stats")).json()
    return answer


def services(body: dict[str, Any], department: str) -> dict[str, dict[str, Any]]:
    assert not body.get("errors") and "stale" not in body.get("extensions", {}), body
    edges = body["data"]["services"]["edges"]
    return {e["node"]["id"]: e["node"] for e in edges if e["node"]["department"]["id"] == department}


@asynccontextmanager
async def departments() -> AsyncIterator[dict[str, tuple[asyncio.subprocess.Process, str]]]:
    started: dict[str, tuple[asyncio.subprocess.Process, str]] = {}

    async def one(name: str) -> None:
        proc, line = await spawn(f"mocks.extra.{name}", dict(os.environ), "--port", "0")
        started[name] = (proc, line.removeprefix(f"{name} mock at "))

    try:
        await asyncio.gather(*(one(name) for name in DEPARTMENTS))
        yield started
    finally:
        await asyncio.gather(*(stop(proc) for proc, _ in started.values()))


@asynccontextmanager
async def gateways(env: dict[str, str]) -> AsyncIterator[list[str]]:
    procs: list[asyncio.subprocess.Process] = []
    try:
        started = await asyncio.gather(*(spawn("tests.gateway_on_free_port", env) for _ in range(2)))
        procs = [proc for proc, _ in started]
        urls = [f"http://127.0.0.1:{port}" for _, port in started]
        await asyncio.gather(*(wait_healthy(url) for url in urls))
        yield urls
    finally:
        await asyncio.gather(*(stop(p) for p in procs))


async def onboard(name: str, spec: Path, urls: list[str], via: str) -> float:
    """The guide's steps, as department IT types them; seconds until both processes serve it."""
    started = time.monotonic()
    code, out, err = await cli("validate", str(spec))
    assert code == 0 and f"valid — {name}" in out, (out, err)
    code, out, err = await cli("register", str(spec), "--url", via)  # probes first, shows the report
    assert code == 0 and f"{name} v1 registered and ACTIVE" in out, (out, err)
    assert "[ok  ] catalog" in out and "[FAIL]" not in out, out
    await within(
        VISIBLE_WITHIN_S,
        urls,
        "{ departments { id connectorVersion } }",
        lambda b: {"id": name, "connectorVersion": 1} in b["data"]["departments"],
    )
    return time.monotonic() - started


async def test_four_unseen_departments_go_live_from_their_specs_and_survive(
    mocks: RunningMocks, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with departments() as running:
        env = dict(os.environ) | {
            "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
            "ONESTOP_MOCKS_URL": mocks.url,
            "ONESTOP_JWT_SECRET": SECRET,
            "ONESTOP_NAMESPACE": f"{TEST_NAMESPACE}-{tmp_path.name}",
            "ONESTOP_RELOAD_POLL_S": "0.5",
            "ONESTOP_TUNE_GC": "false",
            **{f"{name.upper()}_URL": url for name, (_, url) in running.items()},
        }
        for name, (_, url) in running.items():  # the CLI's environment, as department IT's shell
            monkeypatch.setenv(f"{name.upper()}_URL", url)
        async with gateways(env) as urls:
            timings = {}
            for index, name in enumerate(DEPARTMENTS):
                spec = tmp_path / f"{name}.yaml"
                text = (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")
                if name == "permits":  # asked every time, so expiry and restart reach the department
                    text = text.replace("cache_ttl_s: 300", "cache_ttl_s: 0")
                spec.write_text(text, encoding="utf-8")
                timings[name] = await onboard(name, spec, urls, via=urls[index % 2])
            await served_as_the_department_means(urls)
            await token_expiry_and_restart(urls, running)
    with capsys.disabled():
        print("\nonboarding through the guide:", ", ".join(f"{n} {s:.1f} s" for n, s in timings.items()))


async def served_as_the_department_means(urls: list[str]) -> None:
    for url in urls:
        licensing = services(await post(url, SERVICES, {"d": ["licensing"]}), "licensing")
        assert len(licensing) == 7  # three pages followed by their links
        assert (licensing["LS-002"]["feeFen"], licensing["LS-002"]["processingDays"]) == (123450, 14)
        assert licensing["LS-004"]["feeFen"] == 3_200_000  # 3.2万元
        assert licensing["LS-003"]["processingDays"] == 2  # PT48H
        assert licensing["LS-001"]["updatedAt"].startswith("2026-11-01T00:00:00+08:00")
        transit = services(await post(url, SERVICES, {"d": ["transit"]}), "transit")
        assert set(transit) == {"JT-201", "JT-202", "JT-203"}  # signed, two pages
        assert transit["JT-202"]["channels"] == ["STATION", "APP"]  # Y/N flags, by expression
        permits = services(await post(url, SERVICES, {"d": ["permits"]}), "permits")
        assert permits["JS-0102"]["feeFen"] == 20000 and permits["JS-0101"]["feeFen"] == 0
        elderly = services(await post(url, SERVICES, {"d": ["elderly"]}), "elderly")
        assert elderly["YL-03"]["updatedAt"].startswith("2026-11-15T00:00:00+08:00")  # 2026年11月15日
        resident = bearer(token(Role.RESIDENT, subject=ELDERLY_RESIDENT))
        body = await post(url, CASES, headers=resident)
        assert not body.get("errors"), body
        cases = {c["id"]: c for c in body["data"]["me"]["cases"]}
        case = cases["elderly:YL2026-0001"]
        assert (case["status"], case["departmentStatus"]) == ("IN_REVIEW", "审核中")
        assert case["updatedAt"].startswith("2026-11-24T10:05:00+08:00")  # 2026年11月24日 10时05分
        assert [e["note"] for e in case["history"]] == ["窗口受理", "上门评估完成"]


def logins(counts: dict[str, int]) -> int:
    return counts.get("POST /permits/auth/login 200", 0)


async def token_expiry_and_restart(
    urls: list[str], running: dict[str, tuple[asyncio.subprocess.Process, str]]
) -> None:
    proc, permits_url = running["permits"]
    before = await stats(permits_url)
    async with httpx.AsyncClient() as client:
        await client.post(f"{permits_url}/permits/_admin/expire-tokens")
    await asyncio.gather(*(post(url, SERVICES, {"d": ["permits"]}) for url in urls for _ in range(3)))
    for url in urls:
        assert len(services(await post(url, SERVICES, {"d": ["permits"]}), "permits")) == 3
    after = await stats(permits_url)
    assert logins(after) - logins(before) == 2  # one new login per gateway process, however many calls
    assert after.get("GET /permits/api/items 200", 0) > before.get("GET /permits/api/items 200", 0)

    await stop(proc)  # the department restarts on the same port and forgets every token
    port = permits_url.rsplit(":", 1)[1]
    restarted, _ = await spawn("mocks.extra.permits", dict(os.environ), "--port", port)
    running["permits"] = (restarted, permits_url)
    for url in urls:
        assert len(services(await post(url, SERVICES, {"d": ["permits"]}), "permits")) == 3
    fresh = await stats(permits_url)
    assert logins(fresh) == 2 and fresh.get("GET /permits/api/items 200", 0) >= 2, fresh
