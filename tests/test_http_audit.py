"""The GraphQL-over-HTTP audit of graphql-http (the spec's reference implementation) against a real
gateway process: all 61 audits pass, SHOULDs included.

Two of them failed before content negotiation answered ``application/json`` to ``Accept: */*``: a
client that never asked for ``application/graphql-response+json`` got it, with HTTP 400 for a
validation error. A hash-only GET, the other way round, must be JSON and not the GraphiQL page.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from mocks.server import RunningMocks
from tests import tools
from tests.conftest import GatewayFactory
from tests.gateway_process import gateway_process, wait_ready

pytestmark = pytest.mark.asyncio(loop_scope="session")

AUDIT_SCRIPT = tools.JS_DIR / "http_audit.mjs"
AUDITS = 61
GRAPHQL_RESPONSE = "application/graphql-response+json"  # graphql-http 1.23.1's serverAudits


async def run_audit(url: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        tools.node(),
        str(AUDIT_SCRIPT),
        f"{url}/graphql",
        cwd=tools.JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    report: dict[str, Any] = json.loads(out)
    return report


async def test_graphql_http_audit_passes_all_61(mocks: RunningMocks, tmp_path: Path) -> None:
    with gateway_process(mocks.url, tmp_path, tune_gc="false") as gateway:
        await asyncio.to_thread(wait_ready, gateway.url)
        report = await run_audit(gateway.url)
        assert gateway.log_problems() == []
    results = report["results"]
    failing = [f"{r['name']} ({r['status']}): {r['reason']}" for r in results if r["status"] != "ok"]
    print(f"graphql-http audit: {report['ok']} of {report['total']} ok", *failing, sep="\n  ")
    assert report["total"] == AUDITS
    assert failing == []


async def test_curl_and_fetch_defaults_get_json_with_200_for_a_validation_error(
    make_gateway: GatewayFactory,
) -> None:
    """What the two audits that failed stood for, with the headers curl and ``fetch`` really send."""
    client = (await make_gateway()).client
    invalid = {"query": "{ noSuchField }"}
    for accept in ("*/*", "application/*", None):
        headers = {"accept": accept} if accept else {}
        response = await client.post("/graphql", json=invalid, headers=headers)
        assert response.status_code == 200, accept
        assert response.headers["content-type"].startswith("application/json"), accept
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # asked for by name, the new type keeps its status codes
    named = await client.post("/graphql", json=invalid, headers={"accept": GRAPHQL_RESPONSE})
    assert named.status_code == 400
    assert named.headers["content-type"].startswith(GRAPHQL_RESPONSE)
