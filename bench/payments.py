"""A bill paid end to end, measured: `python -m bench.payments [--payments N] [--latency-ms 50]`.

The mocks (departments and the payment provider) and one gateway run as subprocesses on free loopback
ports; every department and the provider answer after ``--latency-ms``. Residents of the mock world
with unpaid bills read them (``me { bills(unpaid: true) }``, as the app does before paying), then pay
one after the other: each ``payBill`` is timed from the request to its answer, which comes once the
provider's signed notification reached the gateway and the utilities department confirmed
(CONFIRMED). Reported: p50/p99/max, payments not CONFIRMED in the answer, and the provider's charges
(exactly one per payment).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import Processes, percentile, prepare_mocks, start_gateway, start_mocks, wait_ready
from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.payprovider import MCH_KEY as MERCHANT_KEY  # the mock provider's own key: the bench runs it

BILLS = "{ me { bills(unpaid: true) { id amountFen } } }"
PAY = """mutation($bill: ID!, $key: String!) {
  payBill(billId: $bill, idempotencyKey: $key) { id state amountFen } }"""


async def graphql(session: aiohttp.ClientSession, url: str, token: str, query: str, **variables: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
    ) as r:
        return await r.json()


async def unpaid_bills(
    session: aiohttp.ClientSession, url: str, mocks_url: str, secret: str, wanted: int
) -> list[tuple[str, str]]:
    """(token, bill id) for ``wanted`` unpaid bills, one resident's bills after another."""
    async with session.get(f"{mocks_url}/_admin/fixtures", params={"sample": str(wanted * 3)}) as response:
        residents = (await response.json())["residents"]
    found: list[tuple[str, str]] = []
    for resident in residents:
        token = mint(secret, resident["id_number"], Role.RESIDENT, channel=ClientChannel.APP)
        body = await graphql(session, url, token, BILLS)
        found += [(token, b["id"]) for b in (body.get("data") or {}).get("me", {}).get("bills", [])]
        if len(found) >= wanted:
            break
    return found[:wanted]


async def measure(processes: Processes, scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    mocks_url = start_mocks(processes)
    await prepare_mocks(mocks_url, processes.running["mocks"][0], args.latency_ms)
    secret = secrets.token_urlsafe(32)
    env = {
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'payments.db'}",
        "ONESTOP_JWT_SECRET": secret,
        "ONESTOP_PAYMENT_MERCHANT_KEY": MERCHANT_KEY,
    }
    url, gateway = start_gateway(processes, "gateway", mocks_url, env)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await wait_ready(session, f"{url}/readyz", gateway)
        async with session.put(f"{mocks_url}/_admin/payprovider", json={"latency_ms": args.latency_ms}) as r:
            r.raise_for_status()
        bills = await unpaid_bills(session, url, mocks_url, secret, args.payments + 2)
        latencies: list[float] = []
        unconfirmed = 0
        for index, (token, bill) in enumerate(bills):
            sent = time.perf_counter()
            body = await graphql(session, url, token, PAY, bill=bill, key=secrets.token_hex(12))
            elapsed = time.perf_counter() - sent
            if index < 2:
                continue  # connections and OAuth2 tokens to the departments and the provider
            latencies.append(elapsed)
            state = ((body.get("data") or {}).get("payBill") or {}).get("state")
            unconfirmed += state != "CONFIRMED"
        async with session.get(f"{mocks_url}/_admin/payprovider/orders") as r:
            charges = (await r.json())["charges"]
    return {
        "payments": len(latencies),
        "p50_ms": round(1000 * percentile(latencies, 50), 1),
        "p99_ms": round(1000 * percentile(latencies, 99), 1),
        "max_ms": round(1000 * max(latencies), 1),
        "not_confirmed": unconfirmed,
        "charges": charges,
        "orders": len(bills),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="onestop-payments-") as directory:
        scratch = Path(directory)
        with Processes(scratch) as processes:
            return await measure(processes, scratch, args)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.payments", description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=30, help="payments measured (30)")
    parser.add_argument("--latency-ms", type=int, default=50, help="departments' and provider's latency (50)")
    args = parser.parse_args()
    figures = asyncio.run(main_async(args))
    print(
        f"payBill end to end, departments and provider at {args.latency_ms} ms, one after the other: "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms over "
        f"{figures['payments']} payments; not CONFIRMED in the answer: {figures['not_confirmed']}; "
        f"provider charges {figures['charges']} for {figures['orders']} orders"
    )


if __name__ == "__main__":
    main()
