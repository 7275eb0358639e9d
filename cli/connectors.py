"""``onestop connector …``: bring a department onto Onestop, change it, roll it back.

Every command but ``validate`` and ``schema`` talks to a running gateway's admin GraphQL API
(``--url``, default ``$ONESTOP_URL`` or http://127.0.0.1:8000; token ``--token`` or ``$ONESTOP_TOKEN``),
so scoping (a department admin: their own department only) and the audit trail are enforced in one
place, the gateway. ``validate`` and ``schema`` work offline, for editors and CI.

Exit codes: 0 done; 1 refused or failed (the message says why: invalid spec, probe failed and stored as
a draft, forbidden, gateway unreachable); 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from connectors.spec import spec_json_schema
from connectors.spec_check import check_spec

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_S = 120.0  # a probe of a slow department with retries may take a while


class Failed(Exception):
    """The gateway refused or could not be reached; the message is for the user."""


# -- GraphQL documents --------------------------------------------------------------------------------

VALIDATION = "validation { ok department problems { text } warnings }"
PROBE = (
    "probe { ok operations { capability ok records samples problems skipped elapsedMs"
    " pages lastPageReached } }"
)
REGISTER = f"""mutation($spec: String!, $force: Boolean!) {{
  registerConnector(spec: $spec, force: $force) {{ outcome department version {VALIDATION} {PROBE} }}
}}"""
PROBE_ONLY = f"mutation($spec: String!) {{ probeConnector(spec: $spec) {{ {VALIDATION} {PROBE} }} }}"
VERSIONS = "versions { version status active registeredBy registeredAt fingerprint }"
LIST = f"{{ connectors {{ department servedVersion {VERSIONS} }} }}"
SHOW = f"""query($department: String!) {{
  connector(department: $department) {{ department servedVersion {VERSIONS} versions {{ version spec }} }}
}}"""
DIFF = """query($department: String!, $from: Int, $to: Int) {
  connectorDiff(department: $department, fromVersion: $from, toVersion: $to)
}"""
ROLLBACK = (
    "mutation($department: String!, $to: Int) { rollbackConnector(department: $department, toVersion: $to) }"
)
DISABLE = "mutation($department: String!) { disableConnector(department: $department) }"
ENABLE = "mutation($department: String!) { enableConnector(department: $department) }"
AUDIT = """query($department: String, $first: Int!) {
  connectorAudit(department: $department, first: $first) {
    at actor role department action version outcome detail
  }
}"""


# -- the argument tree --------------------------------------------------------------------------------


def add_commands(groups: Any) -> None:
    group = groups.add_parser("connector", help="register, check and roll back department connectors")
    commands = group.add_subparsers(dest="command", required=True, metavar="<command>")

    def command(name: str, run: Callable[[argparse.Namespace], int], help: str, remote: bool = True) -> Any:
        parser = commands.add_parser(name, help=help, description=help)
        if remote:
            parser.add_argument(
                "--url", default=os.environ.get("ONESTOP_URL", DEFAULT_URL), help="the gateway"
            )
            parser.add_argument("--token", default=os.environ.get("ONESTOP_TOKEN"), help="or $ONESTOP_TOKEN")
        parser.set_defaults(run=run)
        return parser

    command(
        "validate", run_validate, "check a spec file offline: every problem with its line", False
    ).add_argument("file", type=Path)
    command("schema", run_schema, "print the JSON Schema of specs (for editors)", False)
    register = command("register", run_register, "validate, probe and register a spec (a new version)")
    register.add_argument("file", type=Path)
    register.add_argument("--force", action="store_true", help="serve it even if the probe fails")
    command("probe", run_probe, "call the department with a spec and show what would be served").add_argument(
        "file", type=Path
    )
    command("list", run_list, "the connectors you administer and their versions")
    show = command("show", run_show, "one department's versions, or one version's spec")
    show.add_argument("department")
    show.add_argument("--version", type=int, help="print this version's spec text")
    diff = command("diff", run_diff, "unified diff between two versions (default: previous vs served)")
    diff.add_argument("department")
    diff.add_argument("--from", dest="from_version", type=int)
    diff.add_argument("--to", dest="to_version", type=int)
    rollback = command("rollback", run_rollback, "serve an earlier version again (default: the previous)")
    rollback.add_argument("department")
    rollback.add_argument("--to", type=int, help="the version to serve")
    command("disable", run_disable, "stop serving a department").add_argument("department")
    command("enable", run_enable, "serve a disabled department again").add_argument("department")
    audit = command("audit", run_audit, "the audit trail of connector changes, newest first")
    audit.add_argument("department", nargs="?")
    audit.add_argument("--first", type=int, default=20)


# -- offline commands ---------------------------------------------------------------------------------


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(spec_json_schema(), indent=2, ensure_ascii=False))
    return 0


def run_validate(args: argparse.Namespace) -> int:
    text = _read(args.file)
    if text is None:
        return 1
    check = check_spec(text, os.environ, lenient_variables=True)
    for warning in check.warnings:
        print(f"{args.file}: note: {warning}", file=sys.stderr)
    if not check.ok:
        _print_problems(args.file, [str(p) for p in check.problems])
        return 1
    assert check.spec is not None
    print(f"{args.file}: valid — {check.spec.id}: {', '.join(check.spec.capabilities)}")
    return 0


# -- commands against a gateway ------------------------------------------------------------------------


def run_register(args: argparse.Namespace) -> int:
    text = _local_check(args.file)
    if text is None:
        return 1
    result = _remote(
        args, REGISTER, {"spec": text, "force": args.force}, "probing and registering", "registerConnector"
    )
    if result is None:
        return 1
    _print_probe(result.get("probe"))
    outcome, department, version = result["outcome"], result["department"], result["version"]
    if outcome == "REFUSED":
        _print_problems(args.file, [p["text"] for p in result["validation"]["problems"]])
        return 1
    if outcome == "DRAFT":
        print(f"{department} v{version} stored as a DRAFT, not served: the probe failed (fix it, or --force)")
        return 1
    if outcome == "UNCHANGED":
        print(f"{department} v{version} is already served with this very spec; nothing registered")
        return 0
    print(f"{department} v{version} registered and ACTIVE: every gateway process serves it within seconds")
    return 0


def run_probe(args: argparse.Namespace) -> int:
    text = _local_check(args.file)
    if text is None:
        return 1
    result = _remote(args, PROBE_ONLY, {"spec": text}, "probing", "probeConnector")
    if result is None:
        return 1
    if not result["validation"]["ok"]:
        _print_problems(args.file, [p["text"] for p in result["validation"]["problems"]])
        return 1
    _print_probe(result["probe"])
    return 0 if result["probe"]["ok"] else 1


def run_list(args: argparse.Namespace) -> int:
    connectors = _remote(args, LIST, {}, None, "connectors")
    if connectors is None:
        return 1
    print(f"{'department':<20} {'served':>6} {'status':<9} {'latest':>6}  registered by")
    for connector in connectors:
        versions = connector["versions"]
        current = next((v for v in versions if v["status"] in ("active", "disabled")), versions[-1])
        served = connector["servedVersion"]
        print(
            f"{connector['department']:<20} {'-' if served is None else 'v' + str(served):>6} "
            f"{current['status']:<9} {'v' + str(versions[-1]['version']):>6}  "
            f"{current['registeredBy']} at {current['registeredAt']}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    connector = _remote(args, SHOW, {"department": args.department}, None, "connector")
    if connector is None:
        return 1
    if args.version is not None:
        spec = next((v["spec"] for v in connector["versions"] if v["version"] == args.version), None)
        if spec is None:
            print(f"onestop: {args.department} has no version {args.version}", file=sys.stderr)
            return 1
        print(spec, end="" if spec.endswith("\n") else "\n")
        return 0
    print(f"{connector['department']}: this gateway process serves v{connector['servedVersion']}")
    for version in connector["versions"]:
        print(
            f"  v{version['version']:<4} {version['status']:<9} {version['registeredAt']}  "
            f"{version['registeredBy']}  {version['fingerprint'][:12]}"
        )
    return 0


def run_diff(args: argparse.Namespace) -> int:
    variables = {"department": args.department, "from": args.from_version, "to": args.to_version}
    diff = _remote(args, DIFF, variables, None, "connectorDiff")
    if diff is None:
        return 1
    print(diff or "(no difference)", end="" if diff.endswith("\n") else "\n")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    version = _remote(
        args, ROLLBACK, {"department": args.department, "to": args.to}, None, "rollbackConnector"
    )
    if version is None:
        return 1
    print(f"{args.department}: v{version} is ACTIVE again; every gateway process serves it within seconds")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    version = _remote(args, DISABLE, {"department": args.department}, None, "disableConnector")
    if version is None:
        return 1
    print(f"{args.department}: disabled (v{version} kept; `onestop connector enable {args.department}`)")
    return 0


def run_enable(args: argparse.Namespace) -> int:
    version = _remote(args, ENABLE, {"department": args.department}, None, "enableConnector")
    if version is None:
        return 1
    print(f"{args.department}: enabled, serving v{version}")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    entries = _remote(
        args, AUDIT, {"department": args.department, "first": args.first}, None, "connectorAudit"
    )
    if entries is None:
        return 1
    for e in entries:
        version = "" if e["version"] is None else f" v{e['version']}"
        detail = f" — {e['detail']}" if e["detail"] else ""
        who = f"{e['actor']} ({e['role']})"
        print(f"{e['at']}  {who}  {e['action']} {e['department']}{version}: {e['outcome']}{detail}")
    return 0


# -- helpers ------------------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"onestop: cannot read {path}: {exc}", file=sys.stderr)
        return None


def _local_check(path: Path) -> str | None:
    """Read the file and refuse a broken one before asking the gateway (same rules, offline)."""
    text = _read(path)
    if text is None:
        return None
    check = check_spec(text, os.environ, lenient_variables=True)
    if not check.ok:
        _print_problems(path, [str(p) for p in check.problems])
        return None
    return text


def _print_problems(path: Path, problems: list[str]) -> None:
    print(f"{path}: not valid, {len(problems)} problem{'s' if len(problems) != 1 else ''}:", file=sys.stderr)
    for problem in problems:
        print(f"  {path}: {problem}", file=sys.stderr)


def _print_probe(probe: dict[str, Any] | None) -> None:
    if probe is None:
        return
    for operation in probe["operations"]:
        mark = "ok  " if operation["ok"] else "FAIL"
        if operation["skipped"]:
            mark = "skip"
        records, elapsed = operation["records"], operation["elapsedMs"]
        print(f"  [{mark}] {operation['capability']}: {records} records ({elapsed} ms)")
        for sample in operation["samples"]:
            print(f"         e.g. {_brief(sample)}")
        for problem in operation["problems"]:
            print(f"         ! {problem}")


def _brief(record: dict[str, Any], fields: int = 5) -> str:
    """The first few filled-in fields of a sample record, on one line."""
    shown = [
        f"{key}={json.dumps(value, ensure_ascii=False)}"
        for key, value in record.items()
        if key != "department" and value not in (None, "", [], {})
    ]
    return " ".join(shown[:fields])


def _remote(
    args: argparse.Namespace, query: str, variables: dict[str, Any], step: str | None, field: str
) -> Any:
    """Run one GraphQL operation; print why and return None when it fails."""
    try:
        data = asyncio.run(_with_progress(_post(args.url, args.token, query, variables), step))
    except Failed as exc:
        print(f"onestop: {exc}", file=sys.stderr)
        return None
    return data[field]


async def _with_progress(call: Awaitable[T], step: str | None) -> T:
    """Show that a long step is alive: a ticking line on a terminal, one line otherwise."""
    if step is None:
        return await call
    started = time.monotonic()
    tty = sys.stderr.isatty()
    task = asyncio.ensure_future(call)
    if not tty:
        print(f"{step}…", file=sys.stderr, flush=True)
    while not task.done():
        if tty:
            print(f"\r{step}… {time.monotonic() - started:4.1f}s", end="", file=sys.stderr, flush=True)
        await asyncio.wait({task}, timeout=0.2)
    elapsed = time.monotonic() - started
    print(f"\r{step}: done in {elapsed:.1f}s" if tty else f"{step}: done in {elapsed:.1f}s", file=sys.stderr)
    return task.result()


async def _post(url: str, token: str | None, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    endpoint = url.rstrip("/") + "/graphql"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
            async with session.post(
                endpoint, json={"query": query, "variables": variables}, headers=headers
            ) as response:
                body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Failed(f"cannot reach the gateway at {url} ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise Failed(f"{endpoint} did not answer with JSON (is it an Onestop gateway?)") from exc
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        first = errors[0]
        code = (first.get("extensions") or {}).get("code", "ERROR")
        raise Failed(f"{code}: {first.get('message')}")
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise Failed(f"{endpoint} answered without data")
    data: dict[str, Any] = body["data"]
    return data
