"""Digests of ID numbers are keyed (identity/digest.py): an unkeyed SHA-256 of an ID number is reversed
by trying all ~10^11 of them, so none may reach logs, the store or Redis — and every process of one
deployment must still agree on each digest."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
from sqlalchemy import select

from bench.home import HOME
from config import PROJECT_ROOT, Settings
from identity import digest
from identity.digest import DEVELOPMENT_SECRET, DIGEST_HEX, Digester, DigestKeyMissing
from server import create_app
from store.access import AccessLogRow
from tests.access_support import SECRET, WORLD, ask, resident_gateway, resident_token
from tests.conftest import TEST_NAMESPACE, GatewayFactory

ID_NUMBER = WORLD.residents[0].id_number


def unkeyed(value: str) -> str:
    """What the gateway used to write: the shortest prefix it ever used (any longer one contains it)."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def same_birthday_ids(id_number: str) -> list[str]:
    """Every ID number of one region and birth date (the attacker knows both): 1000 of them."""
    numbers = []
    for sequence in range(1000):
        body = f"{id_number[:14]}{sequence:03d}"
        numbers.append(body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11])
    return numbers


def brute_force(digest: str) -> str | None:
    """The attack an unkeyed digest falls to (here over 10^3 numbers; all of them are ~10^11)."""
    return next((n for n in same_birthday_ids(ID_NUMBER) if unkeyed(n) == digest[:16]), None)


def test_the_brute_force_that_reverses_an_unkeyed_digest_finds_nothing_in_a_keyed_one() -> None:
    assert ID_NUMBER in same_birthday_ids(ID_NUMBER)  # the search space holds the answer
    assert brute_force(unkeyed(ID_NUMBER)) == ID_NUMBER  # the attack works on what we used to write
    assert brute_force(Digester("a-deployment-key").of(ID_NUMBER)) is None


def test_a_digest_depends_on_the_key() -> None:
    one, other = Digester("first-deployment-key"), Digester("second-deployment-key")
    assert one.of(ID_NUMBER) == Digester("first-deployment-key").of(ID_NUMBER)
    assert one.of(ID_NUMBER) != other.of(ID_NUMBER)
    assert len(one.of(ID_NUMBER)) == DIGEST_HEX and unkeyed(ID_NUMBER) not in one.of(ID_NUMBER)
    assert "first-deployment-key" not in repr(one)


def test_the_key_comes_from_the_digest_key_else_the_resident_secret() -> None:
    explicit = Digester.from_secrets("a-digest-key-of-some-length", "a-resident-secret", production=True)
    assert explicit.of(ID_NUMBER) == Digester("a-digest-key-of-some-length").of(ID_NUMBER)
    fallback = Digester.from_secrets(None, "a-resident-secret-long-enough", production=True)
    assert fallback.of(ID_NUMBER) == Digester("a-resident-secret-long-enough").of(ID_NUMBER)


def test_development_without_a_key_uses_the_public_key_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    digest._warn_development_key.cache_clear()
    with caplog.at_level(logging.WARNING, logger="identity.digest"):
        made = [Digester.from_secrets(None, None, production=False) for _ in range(3)]
    assert made[0].of(ID_NUMBER) == made[2].of(ID_NUMBER) == Digester(DEVELOPMENT_SECRET).of(ID_NUMBER)
    warnings = [r for r in caplog.records if r.name == "identity.digest"]
    assert len(warnings) == 1 and "ONESTOP_DIGEST_KEY" in warnings[0].getMessage()


@pytest.mark.parametrize("secret", [None, "short"], ids=["none", "short"])
def test_production_refuses_a_missing_or_short_key(secret: str | None) -> None:
    with pytest.raises(DigestKeyMissing, match="ONESTOP_DIGEST_KEY"):
        Digester.from_secrets(secret, None, production=True)


def test_a_production_app_without_a_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ONESTOP_DIGEST_KEY", "ONESTOP_RESIDENT_KEY", "ONESTOP_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(mode="production", database_url=f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    assert settings.digest_key is None and settings.resident_secret() is None
    with pytest.raises(DigestKeyMissing):
        create_app(settings)


def test_the_production_server_exits_with_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    environ |= {
        "ONESTOP_MODE": "production",
        "ONESTOP_PORT": "0",
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'g.db'}",
    }
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "server.py")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ONESTOP_DIGEST_KEY" in done.stderr and "Traceback" not in done.stderr, done.stderr


async def test_apps_agree_on_digests_exactly_when_they_share_a_key(make_gateway: GatewayFactory) -> None:
    first, second = await make_gateway(jwt_secret=SECRET), await make_gateway(jwt_secret=SECRET)
    rekeyed = await make_gateway(jwt_secret=SECRET, digest_key="another-deployment-digest-key")
    digests = [g.services.digester.of(ID_NUMBER) for g in (first, second, rekeyed)]
    assert digests[0] == digests[1] != digests[2]


async def test_a_resident_query_leaves_no_unkeyed_digest_in_logs_rows_or_redis(
    make_gateway: GatewayFactory, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The home screen (every kind of personal data) through a gateway on Redis (cache, rate limits,
    bus): the keyed digest is what is found everywhere, the unkeyed one nowhere."""
    caplog.set_level(logging.DEBUG)
    gateway = await resident_gateway(
        make_gateway, cache_url=redis_url, redis_url=redis_url, rate_limit_client=1000
    )
    body = await ask(gateway, resident_token(ID_NUMBER), HOME)
    assert body["data"]["me"]["profile"], body
    keyed, plain = gateway.services.digester.of(ID_NUMBER), unkeyed(ID_NUMBER)

    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert keyed in logged and plain not in logged and ID_NUMBER not in logged

    async with gateway.services.sessions() as session:
        rows = list(await session.scalars(select(AccessLogRow)))
    stored = [_columns(row) for row in rows]
    assert rows and all(keyed in row for row in stored), stored
    assert not any(plain in row or ID_NUMBER in row for row in stored)

    client = redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in await client.keys(f"{TEST_NAMESPACE}:*")]
    finally:
        await client.aclose()
    assert any(k.endswith(f":cases:{keyed}") for k in keys), keys  # the cache
    assert any(k.endswith(f":client:sub-{keyed}") for k in keys), keys  # the rate-limit bucket
    assert not any(plain in k or ID_NUMBER in k for k in keys)


def _columns(row: Any) -> str:
    return " ".join(str(getattr(row, c.key)) for c in row.__table__.columns)
