"""The service catalogue across departments: filter, search (Chinese and English), keyset pages."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from domain.records import Category, Channel, ServiceRecord
from resolvers.errors import InputError
from resolvers.loaders import Loaders
from resolvers.notices import Path

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_SEARCH = 100


@dataclass(frozen=True, slots=True)
class ServiceQuery:
    departments: Sequence[str] | None = None
    categories: Sequence[Category] | None = None
    channels: Sequence[Channel] | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class ServicePage:
    records: list[ServiceRecord]
    total: int
    has_next: bool
    has_previous: bool

    def cursor(self, record: ServiceRecord) -> str:
        return encode_cursor(record.id)


@lru_cache(maxsize=4096)  # a page's ten cursors are the same strings request after request
def encode_cursor(service_id: str) -> str:
    return base64.urlsafe_b64encode(f"svc:{service_id}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InputError("after", "not a cursor this API gave out") from exc
    # one spelling per cursor: base64 forgives stray characters and spare bits, a cursor must not
    if not text.startswith("svc:") or encode_cursor(text.removeprefix("svc:")) != cursor:
        raise InputError("after", "not a cursor this API gave out")
    return text.removeprefix("svc:")


def search_terms(search: str | None) -> list[str]:
    if search is None:
        return []
    if len(search) > MAX_SEARCH:
        raise InputError("search", f"at most {MAX_SEARCH} characters")
    return search.casefold().split()


def matches(record: ServiceRecord, query: ServiceQuery, terms: Sequence[str]) -> bool:
    if query.categories and record.category not in query.categories:
        return False
    if query.channels and not any(c in record.channels for c in query.channels):
        return False
    if terms:
        # Chinese has no spaces: a term matches as a substring, so "低保" finds 最低生活保障's 低保.
        text = f"{record.id} {record.name_zh} {record.name_en} {record.description}".casefold()
        return all(term in text for term in terms)
    return True


async def list_services(
    loaders: Loaders, query: ServiceQuery, first: int | None, after: str | None, path: Path
) -> ServicePage:
    size = DEFAULT_PAGE if first is None else first
    if not 0 <= size <= MAX_PAGE:
        raise InputError("first", f"between 0 and {MAX_PAGE}")
    after_id = decode_cursor(after) if after is not None else None
    terms = search_terms(query.search)
    if query.departments is not None:
        unknown = sorted(set(query.departments) - set(loaders.ids_with("catalog")))
        if unknown:
            raise InputError("filter.departments", f"no department {', '.join(unknown)}")
    records = await loaders.all_services(path, query.departments)
    if query.categories or query.channels or terms:
        records = [r for r in records if matches(r, query, terms)]
    selected = sorted(records, key=_by_id)
    start = 0
    if after_id is not None:
        start = next((i for i, r in enumerate(selected) if r.id > after_id), len(selected))
    window = selected[start : start + size]
    return ServicePage(window, len(selected), start + size < len(selected), start > 0)


def _by_id(record: ServiceRecord) -> str:
    return record.id


async def get_service(loaders: Loaders, service_id: str, path: Path) -> ServiceRecord | None:
    return (await loaders.service_index(path)).get(service_id)


async def services_by_ids(loaders: Loaders, service_ids: Sequence[str], path: Path) -> list[ServiceRecord]:
    index = await loaders.service_index(path)
    return [index[i] for i in service_ids if i in index]
