"""``onestop token mint``: development tokens signed with ``ONESTOP_JWT_SECRET``.

Production tokens come from the district's identity provider (RS256 / JWKS); this command exists so a
developer or tester can try GraphiQL as a resident, station staff, a department admin or an operator.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from config import Settings
from identity.principal import ClientChannel, Role
from identity.tokens import mint


def add_commands(groups: Any) -> None:
    group = groups.add_parser("token", help="development bearer tokens")
    commands = group.add_subparsers(dest="command", required=True, metavar="<command>")
    minting = commands.add_parser("mint", help="print an HS256 token signed with ONESTOP_JWT_SECRET")
    minting.add_argument("--role", choices=[r.value for r in Role], required=True)
    minting.add_argument("--subject", required=True, help="resident: the ID number; others: a user id")
    minting.add_argument("--station", help="staff: the station they work at")
    minting.add_argument("--department", help="dept_admin: the department they administer")
    minting.add_argument("--channel", choices=[c.value for c in ClientChannel], default=None)
    minting.add_argument("--ttl", type=int, default=8 * 3600, help="seconds the token is valid (8 h)")
    minting.set_defaults(run=run_mint)


def run_mint(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.jwt_secret is None:
        print("onestop: ONESTOP_JWT_SECRET is not set (make demo writes var/jwt-secret)", file=sys.stderr)
        return 1
    print(
        mint(
            settings.jwt_secret.get_secret_value(),
            args.subject,
            Role(args.role),
            ttl_s=args.ttl,
            channel=ClientChannel(args.channel) if args.channel else None,
            station=args.station,
            department=args.department,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    return 0
