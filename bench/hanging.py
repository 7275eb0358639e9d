"""What one hanging department costs a request: `python -m bench.hanging [--waves 3] [--deadlines 300 5 2]`.

The mocks and one gateway per request deadline run as subprocesses on free loopback ports, with the
bundled specs' policy (3 s per attempt, 8 s per operation, 2 retries). The health department hangs
(the mocks hold each request 30 s); every wave sends ``--concurrency`` catalogue queries at once.
A deadline of 300 s is the gateway without a request deadline (each operation bounded by its
department's 8 s only): issue 14 measured p99 8.2 s. Reported per deadline: p50/p99/max latency and
how many answers named health's failure (the other departments' services are always there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.harness import Processes, percentile, set_faults, start_gateway, start_mocks, wait_ready

QUERY = "{ services(first: 100) { totalCount edges { node { id } } } }"


async def measure(url: str, waves: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    failed = 0
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            nonlocal failed
            sent = time.perf_counter()
            async with session.post(f"{url}/graphql", json={"query": QUERY}) as response:
                body = await response.json()
            latencies.append(time.perf_counter() - sent)
            assert response.status == 200 and body["data"]["services"]["totalCount"] > 0, body
            failed += any(
                e.get("extensions", {}).get("department") == "health" for e in body.get("errors", [])
            )

        for _ in range(waves):
            await asyncio.gather(*(one() for _ in range(concurrency)))
    return {
        "requests": len(latencies),
        "health_failed": failed,
        "p50_s": round(percentile(latencies, 50), 2),
        "p99_s": round(percentile(latencies, 99), 2),
        "max_s": round(max(latencies), 2),
    }


async def main(waves: int, concurrency: int, deadlines: list[float]) -> None:
    with tempfile.TemporaryDirectory() as scratch, Processes(Path(scratch)) as processes:
        mocks_url = start_mocks(processes)
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, f"{mocks_url}/_admin/departments", processes.running["mocks"][0])
            await set_faults(session, mocks_url, ["health"], {"hang": True})
        for deadline in deadlines:
            env = {
                "ONESTOP_REQUEST_DEADLINE_S": str(deadline),
                "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{scratch}/gw-{deadline}.db",
            }
            url, process = start_gateway(processes, f"gateway-{deadline}", mocks_url, env)
            async with aiohttp.ClientSession() as session:
                await wait_ready(session, f"{url}/readyz", process)
            figures = await measure(url, waves, concurrency)
            print(json.dumps({"request_deadline_s": deadline, **figures}))
            processes.stop(f"gateway-{deadline}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--deadlines", type=float, nargs="+", default=[300.0, 5.0, 2.0])
    arguments = parser.parse_args()
    asyncio.run(main(arguments.waves, arguments.concurrency, arguments.deadlines))
