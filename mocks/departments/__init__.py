"""Registry of the mock departments and the small contract each one fulfils.

A department module turns the seeded `World` into a `Mounted`: its aiohttp routes plus the two things
the fault middleware cannot know generically — how this legacy system fails (`fail`) and how its
garbage looks (`malform`).  Departments with state (the OAuth2 token store of hrss) also expose hooks
so the admin API can expire tokens or reset them without knowing which department holds any.
"""

from __future__ import annotations

import base64
import binascii
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from mocks.case_status import CaseStatusBoard
from mocks.world import World, is_valid_id_number

Capability = Literal["stations", "catalog", "facts", "cases", "bills", "applications"]

#: Every department module, in the order they are listed and served.
MODULES = (
    "community",
    "civil_affairs",
    "hrss",
    "health",
    "commerce",
    "medical_insurance",
    "education",
    "culture_tourism",
    "public_security",
    "housing",
    "planning_land",
    "agriculture",
    "justice",
    "market_regulation",
    "tax",
    "veterans",
    "disabled_persons",
    "utilities",
    "volunteer",
)


def truncate_half(body: bytes) -> bytes:
    """The default malformed body: the first half of the real one, which no JSON or XML parser
    accepts because the document is never closed."""
    return body[: max(1, len(body) // 2)]


def _nothing_to_expire() -> int:
    return 0


def _nothing_to_reset() -> None:
    return None


@dataclass(frozen=True)
class Mounted:
    """A department built for one app: routes, failure style and admin hooks."""

    routes: Sequence[web.AbstractRouteDef]
    #: The answer given when `error_rate` picks a request to fail, in the department's own style.
    fail: Callable[[], web.Response]
    #: Turns a good body into a broken one of the same content type.
    malform: Callable[[bytes], bytes] = truncate_half
    #: Expires every issued credential; returns how many were live.
    expire_tokens: Callable[[], int] = _nothing_to_expire
    #: Forgets every issued credential (admin reset).
    reset: Callable[[], None] = _nothing_to_reset
    #: Status changes made through `/_admin/cases/...` (departments whose cases can move live).
    case_status: CaseStatusBoard | None = None


@dataclass(frozen=True)
class Department:
    """Static facts about a department, as listed by `GET /_admin/departments`."""

    id: str
    name_zh: str
    name_en: str
    prefix: str
    capabilities: tuple[Capability, ...]
    #: Path (with query) of the machine-readable description: OpenAPI, WSDL or XSD.
    description_path: str
    build: Callable[[World], Mounted] = field(repr=False)

    def owns(self, path: str) -> bool:
        """True when `path` belongs to this department (its prefix followed by `/` or nothing)."""
        return path == self.prefix or path.startswith(self.prefix + "/")


def parse_bounded_int(raw: str | None, default: int, low: int, high: int) -> int | None:
    """Parse a query parameter as a decimal int in [low, high]; `None` means 400.

    Legacy systems are strict about paging parameters but must not crash on them, so anything
    that is not plain ASCII digits (signs, blanks, floats, huge numbers) is rejected here.
    """
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_id_list(
    raw: str | None,
    max_count: int,
    *,
    missing: str,
    too_many: str,
    malformed: str,
    separator: str = ",",
) -> list[str] | str:
    """The `separator`-separated ID numbers of a batch query, in order without repeats, or why they are
    refused: `missing` (none at all), `too_many` (more than `max_count`) or `malformed` (one is not an
    ID number) — each department words those its own way."""
    ids = [part.strip() for part in (raw or "").split(separator) if part.strip()]
    if not ids:
        return missing
    if len(ids) > max_count:
        return too_many
    if not all(is_valid_id_number(i) for i in ids):
        return malformed
    return list(dict.fromkeys(ids))


def decode_basic_auth(header: str) -> tuple[str, str] | None:
    """`(login, password)` from an `Authorization: Basic ...` value, or `None` if it is not one.

    Hand-rolled because aiohttp 3.14 deprecates `BasicAuth` (and the test suite turns warnings
    into errors).  Strict base64; UTF-8 credentials, as RFC 7617 recommends.
    """
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, colon, password = decoded.partition(":")
    return (login, password) if colon else None


def all_departments() -> tuple[Department, ...]:
    """Every department, in the order they are listed and served.

    The department modules import `Mounted` and `Department` from this package, so they are
    imported here, at call time, rather than at the top of the module (which would be circular).
    """
    return tuple(importlib.import_module(f"mocks.departments.{name}").DEPARTMENT for name in MODULES)


def select(only: Sequence[str] | None) -> tuple[Department, ...]:
    """The departments to serve: all of them, or those named in `only` (unknown ids raise)."""
    departments = all_departments()
    if only is None:
        return departments
    known = {d.id for d in departments}
    unknown = sorted(set(only) - known)
    if unknown:
        raise ValueError(f"unknown department(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    wanted = set(only)
    return tuple(d for d in departments if d.id in wanted)
