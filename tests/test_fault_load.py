"""Every department failing in each way, under concurrent load: typed, partial answers; breakers open
and close again.

``tests/test_faults.py`` sends one request per fault; here ``CONCURRENCY`` clients query the gateway
in a closed loop while one department hangs, answers 500, answers garbage, drips its body, drops
connections (mocks' ``down``) or refuses them (its traffic goes through a proxy we stop). Each
department fails in one mode and each mode is tried on three or four departments, so all 19 and all six
modes are covered in about a minute. Caching is off, so every query asks the departments (single-flight
still merges identical calls in flight: it is the breaker's failures, not the request count, that matter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from typing import Any

import pytest

from tests.access_support import SECRET, fixture, resident_token
from tests.conftest import DEPARTMENT_IDS, SUITE_SCALE, Admin, Gateway, GatewayFactory
from tests.test_faults import step_past_reset
from tests.waiting import until

CONCURRENCY = 25
PER_CLIENT = 4 * SUITE_SCALE
RECOVERY_S = 5.0
DEPARTMENTS = sorted(DEPARTMENT_IDS)
MODES: dict[str, tuple[dict[str, Any], str]] = {
    "hang": ({"hang": True}, "UPSTREAM_TIMEOUT"),
    "error": ({"error_rate": 1.0}, "UPSTREAM_UNAVAILABLE"),
    "garbage": ({"malformed": True}, "UPSTREAM_BAD_RESPONSE"),
    "drip": ({"drip_ms": 400}, "UPSTREAM_TIMEOUT"),
    "down": ({"down": True}, "UPSTREAM_UNAVAILABLE"),
    "refused": ({}, "UPSTREAM_UNAVAILABLE"),  # the proxy in front of the department stops listening
}
# round robin: each department fails one way, each way on three or four departments
CASES: dict[str, list[str]] = {mode: DEPARTMENTS[index :: len(MODES)] for index, mode in enumerate(MODES)}
POLICY = {
    "timeout_s": 0.75,  # healthy departments answer in time on a busy CI machine too
    "deadline_s": 1.6,
    "retries": 1,
    "backoff_s": 0.01,
    "breaker_failures": 3,
    "breaker_reset_s": 0.5,
    "concurrency": 16,
}
QUERY = """query Load {
  departments { id status }
  services(first: 100) { totalCount edges { node { id department { id } } } }
  stations(near: {latitude: 31.2304, longitude: 121.5050}, maxWalkMinutes: 15) { station { id } }
}"""


class Proxy:
    """A TCP relay to the mocks that can stop listening (connections refused) and start again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones (pooled keep-alive connections included)."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, upstream_writer))
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._writers.difference_update((writer, upstream_writer))
            for w in (writer, upstream_writer):
                w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(65_536):
            writer.write(chunk)
            await writer.drain()
    writer.close()


def snapshot(body: dict[str, Any]) -> tuple[dict[str, set[str]], set[str], dict[str, str]]:
    """(service ids by department, station ids, status by department) of one answer."""
    services: dict[str, set[str]] = {}
    for edge in body["data"]["services"]["edges"]:
        services.setdefault(edge["node"]["department"]["id"], set()).add(edge["node"]["id"])
    stations = {hit["station"]["id"] for hit in body["data"]["stations"]}
    status = {d["id"]: d["status"] for d in body["data"]["departments"]}
    return services, stations, status


async def post(gateway: Gateway) -> dict[str, Any]:
    response = await gateway.client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/")
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    for error in body.get("errors", ()):
        assert isinstance(error["message"], str) and error["extensions"]["code"], error
    return body


class Baseline:
    def __init__(self, body: dict[str, Any]) -> None:
        assert "errors" not in body, body["errors"]
        self.services, self.stations, status = snapshot(body)
        assert set(status) == set(DEPARTMENT_IDS) and set(status.values()) == {"UP"}
        assert self.stations and len(self.services) == len(DEPARTMENT_IDS)

    def check_partial(self, body: dict[str, Any], failing: str) -> None:
        """Everything the healthy departments own is there; the failing one's is absent, not wrong."""
        services, stations, _ = snapshot(body)
        for department, ids in self.services.items():
            if department != failing:
                assert services.get(department) == ids, f"{department}'s services went missing"
        assert failing not in services or services[failing] == self.services[failing]
        if failing != "community":
            assert stations == self.stations


async def under_load(gateway: Gateway, baseline: Baseline, department: str, code: str) -> Counter[str]:
    """``CONCURRENCY`` clients in a closed loop, ``PER_CLIENT`` queries each; returns the codes seen."""
    codes: Counter[str] = Counter()

    async def client() -> None:
        for _ in range(PER_CLIENT):
            body = await post(gateway)
            baseline.check_partial(body, department)
            errors = body.get("errors", [])
            assert errors, f"{department} failing, yet no error"
            assert {e["extensions"].get("department") for e in errors} == {department}, errors
            codes.update(e["extensions"]["code"] for e in errors)

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    assert set(codes) <= {code, "UPSTREAM_CIRCUIT_OPEN"}, codes
    return codes


async def recovered(gateway: Gateway, baseline: Baseline, department: str) -> None:
    """After the fault is gone: one probe past ``breaker_reset_s`` closes the breaker; data comes back.

    The breaker's clock is stepped past its reset rather than waited out."""
    step_past_reset(gateway, department)
    last: list[dict[str, Any]] = []

    async def back() -> bool:
        last.append(await post(gateway))
        return "errors" not in last[-1] and snapshot(last[-1])[2][department] == "UP"

    try:
        await until(back, timeout=RECOVERY_S)
    except TimeoutError:
        pytest.fail(f"{department} did not recover: {last[-1].get('errors') if last else None}")
    services, stations, _ = snapshot(last[-1])
    assert services == baseline.services and stations == baseline.stations
    ready = (await gateway.client.get("/readyz")).json()["departments"][department]
    assert ready["breaker"] == "CLOSED"


@pytest.mark.parametrize("mode", list(MODES))
async def test_departments_failing_under_load(make_gateway: GatewayFactory, admin: Admin, mode: str) -> None:
    fault, code = MODES[mode]
    proxies: dict[str, Proxy] = {}
    if mode == "refused":
        host, port = admin.url.removeprefix("http://").split(":")
        for department in CASES[mode]:
            proxies[department] = Proxy(host, int(port))
            await proxies[department].start()

    def through_proxy(department: str, text: str) -> str:
        proxy = proxies.get(department)
        return (
            text if proxy is None else text.replace("${ONESTOP_MOCKS_URL:-http://127.0.0.1:8100}", proxy.url)
        )

    gateway = await make_gateway(edit=through_proxy, policy=POLICY, cache_url="none://")
    try:
        baseline = Baseline(await post(gateway))
        for department in CASES[mode]:
            if mode == "refused":
                await proxies[department].stop()
            else:
                await admin.fault(department, **fault)
            codes = await under_load(gateway, baseline, department, code)
            assert codes[code] >= 1, codes  # the department's own failure was told
            assert codes["UPSTREAM_CIRCUIT_OPEN"] >= 1, codes  # then the breaker opened
            opened = gateway.services.observability.metrics.registry.get_sample_value(
                "onestop_upstream_errors_total",
                {"department": department, "operation": "catalog", "code": "UPSTREAM_CIRCUIT_OPEN"},
            )
            assert opened is not None and opened >= 1
            if mode == "refused":
                await proxies[department].start()
            else:
                await admin.clear_faults()
            await recovered(gateway, baseline, department)
    finally:
        for proxy in proxies.values():
            await proxy.stop()


def test_the_cases_cover_every_department_and_every_mode() -> None:
    covered = [d for departments in CASES.values() for d in departments]
    assert sorted(covered) == DEPARTMENTS
    assert all(len(departments) >= 3 for departments in CASES.values())


# -- fault phases with counted outcomes ------------------------------------------------------------
# Several departments failing at once, phase after phase (a dripping body, slow to open a breaker, is
# tried under load above), while residents read their own data (the personal fan-out: profile facts,
# cases, eligibility, bills) beside the public catalogue. Each
# response is counted as ok, partial (data and errors) or error (no data), by code; every phase must
# answer 200 with typed UPSTREAM_* codes only, name the failing department, and log no traceback.

PHASE_CLIENTS = 8
PHASE_REQUESTS = 2 * SUITE_SCALE
UPSTREAM_CODES = frozenset(
    {
        "UPSTREAM_TIMEOUT",
        "UPSTREAM_UNAVAILABLE",
        "UPSTREAM_BAD_RESPONSE",
        "UPSTREAM_CIRCUIT_OPEN",
        "UPSTREAM_OVERLOADED",
    }
)
HANG, ERROR, GARBAGE = {"hang": True}, {"error_rate": 1.0}, {"malformed": True}
DOWN, FLAKY = {"down": True}, {"error_rate": 0.5}  # dripping: test_departments_failing_under_load
PHASES: list[tuple[str, dict[str, dict[str, Any]]]] = [
    ("healthy", {}),
    ("hang", {"hrss": HANG, "housing": HANG}),
    ("error", {"public-security": ERROR, "utilities": ERROR}),
    ("garbage", {"civil-affairs": GARBAGE, "medical-insurance": GARBAGE}),
    ("down", {"hrss": DOWN, "community": DOWN}),
    ("flaky", {d: FLAKY for d in ("hrss", "housing", "public-security", "utilities")}),
    ("mixed", {"hrss": HANG, "housing": ERROR, "utilities": GARBAGE, "public-security": DOWN, "tax": ERROR}),
    ("recovered", {}),
]
PERSONAL = """query Mine {
  me { profile { name age } cases { id status } bills { id amountFen }
       eligibility(serviceIds: ["MZ-001", "GH-003"]) { outcome } }
}"""


class Tally:
    """Outcomes of one phase: ok / partial / error, and error codes, counted."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.departments: set[str] = set()

    def add(self, body: dict[str, Any]) -> None:
        errors = body.get("errors") or []
        self.outcomes["ok" if not errors else "partial" if body.get("data") else "error"] += 1
        self.codes.update(e["extensions"]["code"] for e in errors)
        self.departments.update(
            e["extensions"]["department"] for e in errors if "department" in e["extensions"]
        )

    def line(self, name: str) -> str:
        return f"{name:>9}: {dict(self.outcomes)} codes {dict(self.codes)}"


async def ask_as(gateway: Gateway, query: str, token: str | None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await gateway.client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    assert "Traceback" not in response.text and "INTERNAL_SERVER_ERROR" not in response.text, response.text
    body: dict[str, Any] = response.json()
    for error in body.get("errors", ()):
        assert isinstance(error["message"], str) and error["extensions"]["code"], error
    return body


async def run_phase(gateway: Gateway, token: str) -> Tally:
    tally = Tally()

    async def client(index: int) -> None:
        for turn in range(PHASE_REQUESTS):
            personal = (index + turn) % 2 == 0
            tally.add(await ask_as(gateway, PERSONAL if personal else QUERY, token if personal else None))

    await asyncio.gather(*(client(i) for i in range(PHASE_CLIENTS)))
    return tally


async def healthy_again(gateway: Gateway, token: str) -> None:
    """Past the breakers' reset (their clocks stepped, not waited out): both queries answer without
    errors again (bounded)."""
    for department in gateway.services.registry.all():
        step_past_reset(gateway, department.id)
    last: list[list[dict[str, Any]]] = []

    async def healthy() -> bool:
        last.append([await ask_as(gateway, PERSONAL, token), await ask_as(gateway, QUERY, None)])
        return not any(b.get("errors") for b in last[-1])

    try:
        await until(healthy, timeout=RECOVERY_S)
    except TimeoutError:
        pytest.fail(f"not healthy again: {[b.get('errors') for b in last[-1]] if last else None}")


async def test_fault_phases_with_counted_outcomes(
    make_gateway: GatewayFactory, admin: Admin, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await make_gateway(policy=POLICY, cache_url="none://", jwt_secret=SECRET)
    token = resident_token(fixture("non_pudong_hukou"))
    report = []
    for name, faults in PHASES:
        await admin.clear_faults()
        await healthy_again(gateway, token)
        for department, fault in faults.items():
            await admin.fault(department, **fault)
        started = time.monotonic()
        tally = await run_phase(gateway, token)
        report.append(f"{tally.line(name)} in {time.monotonic() - started:.1f} s")
        assert tally.outcomes.total() == PHASE_CLIENTS * PHASE_REQUESTS
        assert set(tally.codes) <= UPSTREAM_CODES, (name, tally.codes)
        assert tally.departments <= set(faults), (name, tally.departments)
        if faults and name != "flaky":  # every department failing for sure: it is told
            assert tally.outcomes["ok"] < tally.outcomes.total(), (name, tally.outcomes)
        if not faults:
            assert tally.outcomes == Counter(ok=tally.outcomes.total()), (name, tally.codes)
    print("\nfault phases (ok / partial / error, codes):\n" + "\n".join(report))
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert not tracebacks, tracebacks[:5]
