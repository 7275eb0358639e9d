"""``onestop <group> <command>``: one argparse tree; each group is a module with ``add_commands``.

Exit codes: 0 done, 1 the operation was refused or failed (the message says why), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import audit, connectors, schema, serve, tokens

GROUPS = (tokens, connectors, schema, audit, serve)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="onestop", description="Onestop gateway tools")
    groups = root.add_subparsers(dest="group", required=True, metavar="<group>")
    for group in GROUPS:
        group.add_commands(groups)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
