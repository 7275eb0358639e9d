"""One POST /graphql through an app's ASGI interface, no sockets: what the in-process benchmarks
(``bench.cpu``, ``bench.guards``) call the real app with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

Call = Callable[[], Awaitable[tuple[int, bytes]]]


def caller(app: Any, query: str, headers: list[tuple[bytes, bytes]], client: str = "127.0.0.1") -> Call:
    """The same request every time it is called; the call returns status and body."""
    body = orjson.dumps({"query": query})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": (client, 5000),
        "server": ("127.0.0.1", 8000),
    }

    async def call() -> tuple[int, bytes]:
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(dict(scope), receive, send)
        return status, b"".join(chunks)

    return call
