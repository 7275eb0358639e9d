"""Refusals sent straight from middleware: the same typed JSON body as the GraphQL view's refusals."""

from __future__ import annotations

import math

import orjson
from starlette.types import Send

JSON = b"application/json"


def error_body(message: str, code: str, **extensions: object) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code, **extensions}}]})


async def refuse(
    send: Send, status: int, code: str, message: str, retry_after_s: float | None = None, **extensions: object
) -> None:
    """Answer ``status`` with a typed JSON error; ``Retry-After`` in whole seconds (at least 1) if given."""
    body = error_body(message, code, **extensions)
    headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode())]
    if retry_after_s is not None:
        headers.append((b"retry-after", str(retry_after(retry_after_s)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def retry_after(seconds: float) -> int:
    """``Retry-After`` takes whole seconds; round up so a client that obeys it is not refused again."""
    return max(1, math.ceil(seconds))
