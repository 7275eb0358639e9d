"""The benchmark's own parts that need no running gateway: the closed loop, the report and the chart."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.chart import draw
from bench.harness import RunResult, Workload, closed_loop, percentile
from bench.run import parse_args, report


def row(query: str, scenario: str, concurrency: int, rps: float, p50: float, **extra: Any) -> dict[str, Any]:
    result = RunResult(
        query=query,
        scenario=scenario,
        concurrency=concurrency,
        requests=int(rps * 5),
        errors=0,
        requests_per_s=rps,
        p50_ms=p50,
        p99_ms=p50 * 3,
        max_ms=p50 * 4,
        upstream_calls=0,
        upstream_per_query=0.0,
        gateway_cpu_pct=50.0,
        failure_kinds={},
        upstream_paths={},
    )
    return asdict(result) | extra


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99 and percentile([3.0], 99) == 3


async def test_the_closed_loop_round_robins_and_counts_failures() -> None:
    seen: list[tuple[int, str | None]] = []

    def server(number: int) -> web.Application:
        async def graphql(request: web.Request) -> web.Response:
            seen.append((number, request.headers.get("Authorization")))
            body = (
                {"data": {}}
                if number == 0
                else {"errors": [{"extensions": {"code": "X", "department": "d"}}]}
            )
            return web.json_response(body)

        app = web.Application()
        app.router.add_post("/graphql", graphql)
        return app

    runners = [web.AppRunner(server(i)) for i in range(2)]
    urls = []
    for runner in runners:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        urls.append(f"http://127.0.0.1:{port}")
    try:
        workload = Workload("q", "{ a }", lambda i: ({}, {"Authorization": f"Bearer t{i % 3}"}))
        load = await asyncio.wait_for(closed_loop(urls, workload, 4, 30.0, 40), 30)
    finally:
        for runner in runners:
            await runner.cleanup()
    assert len(load.latencies_s) == 40
    assert [n for n, _ in seen].count(0) == [n for n, _ in seen].count(1) == 20  # round robin
    assert {token for _, token in seen} == {"Bearer t0", "Bearer t1", "Bearer t2"}
    assert load.failures == {"X@d": 20}


def test_report_and_chart_of_both_parts(tmp_path: Path) -> None:
    runs = [row("services", "cold", c, 10.0 * c, 60.0 + c) for c in (1, 4, 16)]
    profile = [
        row(query, scenario, c, 5.0 * c, 100.0 + c)
        for query in ("services", "stations", "home")
        for scenario in ("1 process", "2 processes", "1 failing")
        for c in (1, 16)
    ]
    figures = {
        "meta": {
            "cpu_count": 2,
            "latency_ms": 50,
            "duration_s": 5.0,
            "failing_department": "public-security",
            "mock_departments": ["a"],
            "gateway_departments": {"cold": ["a"]},
            "notes": ["a note"],
        },
        "runs": runs,
        "profile": profile,
        "parallel_check": {},
        "until_breaker_open": [
            {
                "department": "public-security",
                "seconds_until_breaker_open": 19.1,
                "query_ms_until_open": [8015.4],
            }
        ],
    }
    text = report(figures)
    assert "cache table" in text and "load profile" in text and "a note" in text
    assert "breaker open after 19.1 s" in text
    assert sum(1 for line in text.splitlines() if line.startswith("home ")) == 6
    chart = draw(runs + profile, tmp_path / "chart.png", "test")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


def test_quick_is_short() -> None:
    args = parse_args(["--quick"])
    assert args.concurrency == [1, 16] and args.duration == 2.0
