"""`onestop token demo`: tokens for the mock world's fixture residents, a station's staff and a planner, read
from the mocks over HTTP (`GET /_admin/fixtures`) and signed with the configured secret — and they
work: the resident's token opens their own profile."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from cli.main import main
from identity.principal import Role
from identity.tokens import TokenSettings, TokenVerifier
from mocks.server import RunningMocks
from tests.access_support import SECRET, ask, fixture, resident_gateway
from tests.conftest import GatewayFactory


async def test_the_mocks_list_their_fixture_residents(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{mocks.url}/_admin/fixtures") as response:
        body = await response.json()
    residents = {r["key"]: r for r in body["residents"]}
    assert residents["senior_pudong"]["id_number"] == fixture("senior_pudong").id_number
    assert residents["veteran"]["name"] == fixture("veteran").name
    assert body["stations"] and all(s["id"] for s in body["stations"])


async def test_demo_tokens_work_on_the_gateway(
    mocks: RunningMocks,
    make_gateway: GatewayFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ONESTOP_JWT_SECRET", SECRET)
    # the CLI is synchronous; the mocks answer on this event loop
    code = await asyncio.to_thread(main, ["token", "demo", "--mocks-url", mocks.url, "--residents", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    tokens = re.findall(r"^Bearer (\S+)$", out, flags=re.MULTILINE)
    assert len(tokens) == 4
    verifier = TokenVerifier(TokenSettings(secret=SECRET))
    principals = [await verifier.verify(t) for t in tokens]
    assert [p.role for p in principals] == [Role.RESIDENT, Role.RESIDENT, Role.STAFF, Role.PLANNER]
    assert principals[2].station
    senior = fixture("senior_pudong")
    assert senior.id_number not in out  # masked in what is printed
    gateway = await resident_gateway(make_gateway)
    body = await ask(gateway, tokens[0], "{ me { profile { name } } }")
    assert body["data"]["me"]["profile"]["name"] == senior.name
    missing = await ask(gateway, tokens[3], '{ questionnaireResults(id: "none") { closed } }')
    assert [e["extensions"]["code"] for e in missing["errors"]] == ["NOT_FOUND"]  # a planner, let in


async def test_demo_without_a_secret_or_mocks_fails_plainly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONESTOP_JWT_SECRET", raising=False)
    assert await asyncio.to_thread(main, ["token", "demo", "--mocks-url", "http://127.0.0.1:9"]) == 1
    assert "ONESTOP_JWT_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("ONESTOP_JWT_SECRET", SECRET)
    args = ["token", "demo", "--mocks-url", "http://127.0.0.1:9", "--wait", "0"]
    assert await asyncio.to_thread(main, args) == 1
    assert "cannot read the mock fixtures" in capsys.readouterr().err
