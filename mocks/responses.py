"""The small response builders most mock departments use, so each one's body is written the same way.

Only the framing is shared — UTF-8 JSON with the non-ASCII left readable, or XML text; what goes
inside (envelopes, error objects) stays with each department, because that is what makes them differ.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """`payload` as `application/json; charset=utf-8`, Chinese kept as is (not `\\u` escapes)."""
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def xml_response(text: str, status: int = 200, content_type: str = "application/xml") -> web.Response:
    """An XML document in UTF-8; SOAP services pass `text/xml`, as SOAP 1.1 requires."""
    return web.Response(text=text, status=status, content_type=content_type, charset="utf-8")


def served_xml(document: str) -> Handler:
    """A handler answering every request with `document` (rendered once: it never changes at run time)."""

    async def serve(_request: web.Request) -> web.StreamResponse:
        return xml_response(document)

    return serve
