"""External tools the conformance tests drive: Node packages, Chromium, HAProxy.

They are installed by the project itself (``make tools``, run by ``make test``: ``npm ci`` in
``tests/js`` from its lock file, Debian's ``chromium`` and ``haproxy`` when the machine lacks them). A
test that needs one it cannot find skips with a message on a developer's machine and fails under CI
(``CI=true``), where ``make test`` must have installed it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"
NODE_MODULES = JS_DIR / "node_modules"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str) -> None:
    message = f"{what} is not installed; `make tools` installs it"
    if IN_CI:
        pytest.fail(f"{message} (CI must run this test)")
    pytest.skip(message)


def node() -> str:
    """The ``node`` binary, with the conformance packages installed beside ``tests/js``."""
    binary = shutil.which("node")
    if binary is None:
        _missing("node")
    if not (NODE_MODULES / ".package-lock.json").exists():
        _missing("tests/js/node_modules (npm ci)")
    return str(binary)


def node_bin(name: str) -> str:
    """An executable from ``tests/js/node_modules/.bin`` (graphql-codegen, hive-gateway, ...)."""
    node()
    path = NODE_MODULES / ".bin" / name
    if not path.exists():
        _missing(f"tests/js/node_modules/.bin/{name}")
    return str(path)


def chromium() -> str:
    """Debian's Chromium, for the browser tests (run headless, driven by puppeteer-core)."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    _missing("chromium")
    raise AssertionError("unreachable")


def haproxy() -> str:
    binary = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if binary is None:
        _missing("haproxy")
    return str(binary)


# Flags Chromium needs headless as root on these machines (no sandbox) and to stay off the closed
# network (background networking would try Google's hosts at every start).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
