"""``onestop schema print`` and ``onestop schema check``: the SDL front-ends code against, and its guard.

* ``print`` writes the client-facing SDL (``schema.graphql``'s content) to stdout; ``--federation`` the
  subgraph SDL a federation router composes; ``--write`` updates ``schema.graphql`` itself, and refuses
  when the update would be a breaking change that ``schema-changes.yaml`` does not acknowledge.
* ``check`` (run by the tests, so by CI) exits 1 when the code's schema breaks the committed
  ``schema.graphql`` without acknowledgement, or merely differs from it (the file is out of date).
  ``check --breaking-only --schema <file>`` compares with another baseline, e.g. the last release's
  ``git show v3.2:schema.graphql``: it catches a break that was written into ``schema.graphql`` by
  redirecting ``print`` instead of acknowledging it.

No settings, database or departments are needed: the schema is built from the code alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from graphql import GraphQLError

from schema import build_schema
from schema.contract import (
    CHANGES_FILE,
    SCHEMA_FILE,
    ChangesFileError,
    Verdict,
    check,
    client_sdl,
    subgraph_sdl,
)

REGENERATE = "run `onestop schema print --write` (or `onestop schema print > schema.graphql`)"


def add_commands(groups: Any) -> None:
    group = groups.add_parser("schema", help="the GraphQL schema as a contract (SDL, breaking changes)")
    commands = group.add_subparsers(dest="command", required=True, metavar="<command>")
    printing = commands.add_parser("print", help="print the client-facing SDL (what schema.graphql holds)")
    printing.add_argument("--federation", action="store_true", help="the federation subgraph SDL instead")
    printing.add_argument(
        "--write", action="store_true", help="update schema.graphql; refused on an unacknowledged break"
    )
    _paths(printing)
    printing.set_defaults(run=run_print)
    checking = commands.add_parser(
        "check", help="fail on a breaking change not in schema-changes.yaml, or an out-of-date schema.graphql"
    )
    _paths(checking)
    checking.add_argument(
        "--breaking-only",
        action="store_true",
        help="only refuse unacknowledged breaks (for --schema = the last release's SDL, e.g. from git)",
    )
    checking.set_defaults(run=run_check)


def _paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE, help="the committed SDL (schema.graphql)")
    parser.add_argument(
        "--changes", type=Path, default=CHANGES_FILE, help="acknowledged breaks (schema-changes.yaml)"
    )


def run_print(args: argparse.Namespace) -> int:
    schema = build_schema()
    if args.federation:
        if args.write:
            print(
                "onestop: --write updates schema.graphql, the client SDL; not with --federation",
                file=sys.stderr,
            )
            return 2
        sys.stdout.write(subgraph_sdl(schema))
        return 0
    if not args.write:
        sys.stdout.write(client_sdl(schema))
        return 0
    if args.schema.exists():
        verdict = _verdict(schema, args)
        if verdict is None:
            return 1
        _report(verdict, sys.stdout if verdict.ok else sys.stderr)
        if not verdict.ok:
            print(f"onestop: {args.schema.name} left as it is", file=sys.stderr)
            return 1
        if verdict.current:
            print(f"{args.schema.name} is up to date")
            return 0
    args.schema.write_text(client_sdl(schema), encoding="utf-8")
    print(f"wrote {args.schema}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    if not args.schema.exists():
        print(f"onestop: {args.schema} does not exist; {REGENERATE}", file=sys.stderr)
        return 1
    verdict = _verdict(build_schema(), args)
    if verdict is None:
        return 1
    _report(verdict, sys.stdout if verdict.ok else sys.stderr)
    if not verdict.ok:
        return 1
    if not verdict.current and not args.breaking_only:
        print(f"onestop: {args.schema.name} differs from the code's schema; {REGENERATE}", file=sys.stderr)
        return 1
    verdict_text = "has no unacknowledged break from" if args.breaking_only else "matches"
    print(f"{args.schema.name} {verdict_text} the code's schema")
    return 0


def _verdict(schema: Any, args: argparse.Namespace) -> Verdict | None:
    try:
        return check(schema, args.schema, args.changes)
    except ChangesFileError as exc:
        print(f"onestop: {exc}", file=sys.stderr)
    except GraphQLError as exc:
        print(f"onestop: {args.schema.name} is not valid SDL: {exc.message}", file=sys.stderr)
    return None


def _report(verdict: Verdict, out: Any) -> None:
    acknowledged = [c for c in verdict.breaking if c not in verdict.unacknowledged]
    for change in verdict.unacknowledged:
        print(f"BREAKING {change.type.name}: {change.description}", file=out)
    for change in acknowledged:
        print(f"breaking, acknowledged {change.type.name}: {change.description}", file=out)
    for danger in verdict.dangerous:
        print(f"dangerous {danger.type.name}: {danger.description}", file=out)
    if verdict.unacknowledged:
        print(
            "onestop: breaking change(s) for existing clients. If intended, add each to schema-changes.yaml "
            '(- change: "<the text after the colon>"\n    reason: "<why, and who agreed>"); then '
            "`onestop schema print --write`",
            file=out,
        )
