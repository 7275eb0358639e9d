"""What the probe records while it calls a department, for department IT to act on.

The probe sets ``PAGES`` around one operation; the adapter notes each page's record count and the last
exchange (method, URL path without the query — where keys may travel —, status, the answer's first
bytes). When serving, ``PAGES`` is None and nothing is recorded.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from connectors.formats import answer_charset
from connectors.transport import UpstreamRequest, UpstreamResponse

FIRST_BYTES = 160
RESIDENT_IN_TEXT = re.compile(r"\d{17}[\dXx]")


@dataclass(slots=True)
class PageLog:
    """What a probe shows department IT: records per page, and the last exchange (method, URL path
    without the query, where keys may travel; status; the answer's first bytes)."""

    pages: list[int] = field(default_factory=list)
    last_exchange: str | None = None
    personal: bool = False

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(self.pages)

    def saw(self, request: UpstreamRequest, response: UpstreamResponse) -> None:
        path = RESIDENT_IN_TEXT.sub("{resident_id}", urlsplit(request.url).path)
        said = f"{request.method} {path} -> HTTP {response.status}"
        if not self.personal or not 200 <= response.status < 300:  # a resident's data is not repeated
            head = _head(response)
            head = RESIDENT_IN_TEXT.sub("{resident_id}", head)
            said += f", {len(response.body)} bytes: {' '.join(head.split())!r}"
        self.last_exchange = said

    def context(self) -> tuple[str, ...]:
        return () if self.last_exchange is None else (f"last request: {self.last_exchange}",)


def _head(response: UpstreamResponse) -> str:
    """The answer's first bytes in its own charset (a GB18030 answer is shown as Chinese, not noise)."""
    try:
        return response.body[:FIRST_BYTES].decode(answer_charset(response, None, xml=True), errors="replace")
    except LookupError:
        return response.body[:FIRST_BYTES].decode("utf-8", errors="replace")


# set by the probe around one operation; None when serving (nothing is recorded)
PAGES: contextvars.ContextVar[PageLog | None] = contextvars.ContextVar("probe_pages", default=None)
