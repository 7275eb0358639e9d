"""``onestop token mint`` and ``onestop token demo``: development tokens signed with ``ONESTOP_JWT_SECRET``.

Production tokens come from the district's identity provider (RS256 / JWKS); these commands exist so a
developer or tester can try GraphiQL as a resident, station staff, a department admin, an operator or a
planner.
``demo`` asks the mock departments (over HTTP, ``GET /_admin/fixtures``) who their fixture residents
are, so its tokens name people the departments know.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
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
    demo = commands.add_parser(
        "demo",
        help="tokens for the mock world's fixture residents, a station's staff and a planner, to paste",
    )
    demo.add_argument("--mocks-url", help="where the mock departments run (default: ONESTOP_MOCKS_URL)")
    demo.add_argument("--residents", type=int, default=4, help="how many fixture residents (4)")
    demo.add_argument("--ttl", type=int, default=8 * 3600, help="seconds the tokens are valid (8 h)")
    demo.add_argument("--wait", type=float, default=15.0, help="seconds to wait for the mocks to start")
    demo.set_defaults(run=run_demo)


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


DEMO_STAFF = "staff-demo-1"
DEMO_PLANNER = "planner-demo-1"


def fetch_fixtures(mocks_url: str, wait_s: float = 0.0) -> dict[str, Any]:
    """The mock world's fixture residents and a few stations (``GET /_admin/fixtures``), waiting up to
    ``wait_s`` for mocks that are still starting (``make demo`` starts both at once)."""
    url = mocks_url.rstrip("/") + "/_admin/fixtures"
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {mocks_url}")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http(s) only
                fixtures: dict[str, Any] = json.loads(response.read())
            return fixtures
        except urllib.error.URLError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.25)


def run_demo(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.jwt_secret is None:
        print("onestop: ONESTOP_JWT_SECRET is not set (make demo writes var/jwt-secret)", file=sys.stderr)
        return 1
    try:
        fixtures = fetch_fixtures(args.mocks_url or settings.mocks_url, args.wait)
    except (OSError, ValueError, urllib.error.URLError) as exc:
        print(f"onestop: cannot read the mock fixtures: {exc}", file=sys.stderr)
        return 1
    secret = settings.jwt_secret.get_secret_value()

    def token(subject: str, role: Role, channel: ClientChannel, station: str | None = None) -> str:
        return mint(
            secret,
            subject,
            role,
            ttl_s=args.ttl,
            channel=channel,
            station=station,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )

    print('Paste into GraphiQL\'s headers: {"Authorization": "Bearer <token>"}')
    print("then try: { me { profile { name idNumberMasked } cases { id status } } }")
    for resident in fixtures["residents"][: max(0, args.residents)]:
        number = str(resident["id_number"])
        masked = number[:3] + "*" * (len(number) - 7) + number[-4:]
        print(f"\n# resident {resident['key']} ({resident['name']}, {masked})")
        print(f"Bearer {token(number, Role.RESIDENT, ClientChannel.APP)}")
    station = fixtures["stations"][0]
    print(f"\n# staff {DEMO_STAFF} at station {station['id']} ({station['name']})")
    print(f"Bearer {token(DEMO_STAFF, Role.STAFF, ClientChannel.COUNTER, str(station['id']))}")
    print(f"\n# planner {DEMO_PLANNER} (publishQuestionnaire, questionnaireResults; no personal data)")
    print(f"Bearer {token(DEMO_PLANNER, Role.PLANNER, ClientChannel.UNKNOWN)}")
    return 0
