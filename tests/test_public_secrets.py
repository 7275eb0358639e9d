"""Production refuses to start with a secret whose value is written in this repository, and names it.

One case per kind of public secret: a webhook secret from a bundled spec, a mock credential a bundled
spec defaults to, the digest module's development key, a test suite's key, a development token secret.
Values are taken from where the repository writes them, so each test fails if the check does not
collect that kind mechanically.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import PROJECT_ROOT, Settings
from identity.digest import DEVELOPMENT_SECRET
from server import production_refusals
from tests.access_support import SECRET as TOKEN_TEST_SECRET
from tests.conftest import SPECS, TEST_DIGEST_KEY

_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-[^}]*)?\}")
SPEC_VARIABLES = sorted({m for p in SPECS.glob("*.yaml") for m in _VARIABLE.findall(p.read_text())})


def own_value() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A production deployment with a value of its own for every secret: the check must pass it."""
    for name in SPEC_VARIABLES:
        if name != "ONESTOP_MOCKS_URL":
            monkeypatch.setenv(name, own_value())
    yield {"mode": "production", "digest_key": own_value(), "jwt_public_key": "unused in this test"}


def refusals(**settings: Any) -> str:
    return "\n".join(production_refusals(Settings(**settings)))


def test_a_deployment_with_its_own_secrets_starts(deployed: dict[str, Any]) -> None:
    assert refusals(**deployed) == ""


def test_a_bundled_webhook_secret_is_refused(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOUSING_WEBHOOK_SECRET")  # the spec's default: the README's development secret
    found = refusals(**deployed)
    assert "connector housing: webhook.secret" in found and "zj-webhook-secret-dev" not in found
    assert "connector housing: auth" not in found  # only what is public is named


def test_a_mock_credential_used_as_a_connector_default_is_refused(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEALTH_HMAC_SECRET")
    found = refusals(**deployed)
    assert "connector health: auth.secret" in found and "health-hmac-secret" not in found


def test_the_development_digest_key_is_refused(deployed: dict[str, Any]) -> None:
    found = refusals(**deployed | {"digest_key": DEVELOPMENT_SECRET})
    assert "ONESTOP_DIGEST_KEY (written in identity/digest.py)" in found and DEVELOPMENT_SECRET not in found


def test_a_test_suites_key_is_refused(deployed: dict[str, Any]) -> None:
    found = refusals(**deployed | {"resident_key": TEST_DIGEST_KEY, "access_log_key": TEST_DIGEST_KEY})
    assert "ONESTOP_RESIDENT_KEY (written in tests/conftest.py)" in found
    assert "ONESTOP_ACCESS_LOG_KEY" in found and TEST_DIGEST_KEY not in found


def test_a_development_token_secret_is_refused_even_with_hs256_allowed(deployed: dict[str, Any]) -> None:
    found = refusals(**deployed | {"jwt_secret": TOKEN_TEST_SECRET, "allow_hs256": True})
    assert "ONESTOP_JWT_SECRET (written in tests/access_support.py)" in found
    assert TOKEN_TEST_SECRET not in found


def test_hs256_tokens_are_refused_in_production_unless_allowed(deployed: dict[str, Any]) -> None:
    own = own_value()
    assert "HS256" in refusals(**deployed | {"jwt_secret": own})
    assert refusals(**deployed | {"jwt_secret": own, "allow_hs256": True}) == ""


def test_the_production_server_exits_naming_the_public_secrets(tmp_path: Path) -> None:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_") and k not in SPEC_VARIABLES
    }
    environ |= {
        "ONESTOP_MODE": "production",
        "ONESTOP_PORT": "0",
        "ONESTOP_DIGEST_KEY": own_value(),
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'g.db'}",
    }
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "server.py")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "connector medical-insurance: webhook.secret" in done.stderr
    assert "yb-webhook-secret-dev" not in done.stderr
