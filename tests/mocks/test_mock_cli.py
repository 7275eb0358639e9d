"""`python -m mocks` prints where it serves, serves, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


async def test_cli_serves_until_sigint(http: aiohttp.ClientSession) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mocks",
        "--port",
        "0",
        "--seed",
        "7",
        "--only",
        "commerce,hrss",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        lines = []
        while not lines or not lines[-1].lstrip().startswith("admin"):
            line = await asyncio.wait_for(process.stdout.readline(), 10)
            assert line, "CLI exited early"
            lines.append(line.decode())
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", lines[0])
        assert match and "seed 7" in lines[0]
        url = match.group(1)
        assert any(f"{url}/commerce/" in line for line in lines)
        assert any(f"{url}/hrss/" in line for line in lines)
        assert not any("/community/" in line for line in lines)
        async with http.get(f"{url}/commerce/services.xml") as response:
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_cli_rejects_unknown_departments() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mocks",
        "--only",
        "police",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 2
    assert b"police" in stderr
