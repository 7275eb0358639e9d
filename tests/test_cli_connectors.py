"""``onestop connector …`` end to end: the CLI as department IT runs it, against a real HTTP gateway
(offline commands need none). Exit codes: 0 done, 1 refused or failed, 2 usage."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cli.main import main
from connectors.spec import spec_json_schema
from identity.principal import Role
from tests.conftest import GatewayFactory
from tests.onboarding_support import (
    EXAMPLE,
    SECRET,
    archives_url,  # noqa: F401 (fixture)
    served,
    token,
    version_two,
)


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["connector", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "archives.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    return path


async def test_validate_passes_a_good_spec_offline(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(capsys, "validate", str(spec_file)) == (
        0,
        f"{spec_file}: valid — archives: catalog\n",
        "",
    )


async def test_validate_lists_every_problem_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        EXAMPLE.replace("kind: json", "kind: jsn")
        .replace('split: "|"', 'split: "|"\n        splt: x')
        .replace("查档服务: DAILY_LIFE", "查档服务: DAILY"),
        encoding="utf-8",
    )
    code, out, err = await run(capsys, "validate", str(broken))
    assert code == 1 and out == ""
    lines = broken.read_text(encoding="utf-8").splitlines()
    kind_line = next(n for n, text in enumerate(lines, 1) if "kind: jsn" in text)
    typo_line = next(n for n, text in enumerate(lines, 1) if "splt: x" in text)
    vocabulary_line = next(n for n, text in enumerate(lines, 1) if "查档服务: DAILY," in text)
    assert f"{broken}: not valid, 3 problems:" in err
    word = "operations.catalog.mapping.category.values.查档服务: 'DAILY' is not allowed (expected one of ["
    assert f"{broken}: line {vocabulary_line}, column 18: {word}" in err
    kind = "format.kind: 'jsn' is not a known kind (expected one of 'json', 'xml', 'csv', 'graphql')"
    assert f"{broken}: line {kind_line}, column 3: {kind}" in err
    typo = "operations.catalog.mapping.channels.splt: unknown key 'splt' (expected 'split'?)"
    assert f"{broken}: line {typo_line}, column 9: {typo}" in err


async def test_validate_says_where_yaml_is_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "id: archives\nname: {zh: 档案馆, en: Archives\nformat: {kind: json}\n", encoding="utf-8"
    )
    code, _, err = await run(capsys, "validate", str(broken))
    assert code == 1 and "line 3, column 7" in err


async def test_offline_commands_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "schema")
    assert code == 0 and json.loads(out) == spec_json_schema()
    code, _, err = await run(capsys, "validate", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read" in err
    with pytest.raises(SystemExit) as usage:
        await run(capsys, "register")
    assert usage.value.code == 2
    code, _, err = await run(capsys, "list", "--url", "http://127.0.0.1:9", "--token", "x")
    assert code == 1 and "cannot reach the gateway at http://127.0.0.1:9" in err


async def test_the_whole_lifecycle_through_the_cli(
    make_gateway: GatewayFactory,
    archives_url: str,  # noqa: F811
    spec_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARCHIVES_URL", archives_url)
    gateway = await make_gateway(jwt_secret=SECRET)
    async with served(gateway) as url:
        remote = ("--url", url, "--token", token())

        code, out, err = await run(capsys, "probe", str(spec_file), *remote)
        assert code == 0 and "[ok  ] catalog: 4 records" in out and "probing: done in" in err
        code, out, _ = await run(capsys, "register", str(spec_file), *remote)
        assert code == 0 and "archives v1 registered and ACTIVE" in out
        assert 'e.g. id="DA-001" name_zh="个人档案查阅"' in out  # a sample of what is served
        write(spec_file, version_two())
        assert (await run(capsys, "register", str(spec_file), *remote))[0] == 0

        code, out, _ = await run(capsys, "list", *remote)
        assert code == 0 and any(
            line.split()[:4] == ["archives", "v2", "active", "v2"] for line in out.splitlines()
        )
        code, out, _ = await run(capsys, "show", "archives", *remote)
        assert "serves v2" in out and "v1    inactive" in out and "v2    active" in out
        code, out, _ = await run(capsys, "show", "archives", "--version", "1", *remote)
        assert out == EXAMPLE
        code, out, _ = await run(capsys, "diff", "archives", *remote)
        assert "--- archives v1" in out and "+name: {zh: 区档案馆, en: Pudong District Archives}" in out

        assert (await run(capsys, "rollback", "archives", "--to", "1", *remote))[0] == 0
        assert gateway.services.registry.get("archives").version == 1
        code, out, _ = await run(capsys, "disable", "archives", *remote)
        assert code == 0 and gateway.services.registry.get("archives") is None
        code, _, err = await run(capsys, "disable", "archives", *remote)
        assert code == 1 and "NOT_FOUND" in err
        assert (await run(capsys, "enable", "archives", *remote))[0] == 0
        assert gateway.services.registry.get("archives").version == 1

        write(spec_file, EXAMPLE.replace("items: rows", "items: list"))
        code, out, _ = await run(capsys, "register", str(spec_file), *remote)
        assert code == 1 and "archives v3 stored as a DRAFT" in out and "[FAIL] catalog" in out
        assert gateway.services.registry.get("archives").version == 1  # the draft is not served

        code, out, _ = await run(capsys, "audit", "archives", *remote)
        assert code == 0 and "ops-1 (operator)  register archives v3: draft" in out.splitlines()[0]


async def test_a_department_admin_is_refused_another_department(
    make_gateway: GatewayFactory, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    health = token(Role.DEPT_ADMIN, "health", "it-health")
    async with served(gateway) as url:
        code, _, err = await run(capsys, "register", str(spec_file), "--url", url, "--token", health)
        assert code == 1 and "FORBIDDEN: you may not register the connector of archives" in err
        code, _, err = await run(capsys, "rollback", "commerce", "--url", url, "--token", health)
        assert code == 1 and "FORBIDDEN" in err
        code, _, err = await run(capsys, "list", "--url", url)  # no token at all
        assert code == 1 and "UNAUTHENTICATED" in err


async def test_the_gateway_refuses_what_only_it_can_judge_naming_the_line(
    make_gateway: GatewayFactory,
    spec_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A variable the laptop lacks passes the offline check; the gateway lacks it too and says where."""
    gateway = await make_gateway(jwt_secret=SECRET)
    write(spec_file, EXAMPLE.replace("${ARCHIVES_APP_KEY:-archives-dev-key}", "${ARCHIVES_APP_KEY_NEW}"))
    line = EXAMPLE.splitlines().index("  key: ${ARCHIVES_APP_KEY:-archives-dev-key}") + 1
    async with served(gateway) as url:
        code, _, err = await run(capsys, "register", str(spec_file), "--url", url, "--token", token())
    assert code == 1
    assert f"line {line}, column 8: auth.key: ${{ARCHIVES_APP_KEY_NEW}} is not set and has no default" in err
    assert gateway.services.registry.get("archives") is None
