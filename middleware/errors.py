"""Errors outside the GraphQL view still answer in the shape of every other refusal: typed JSON.

* an exception no one caught becomes a 500 with a fixed message, never a traceback or text (Starlette's
  own last handler answers plain text, or in debug the traceback); the exception goes to the log, and
  Starlette re-raises it after the response for the server to log as well;
* Starlette's own HTTP errors (an unknown path, a method a route does not take) get a code too.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from middleware.responses import error_body

log = logging.getLogger("onestop.errors")

INTERNAL_MESSAGE = "Internal error. It has been logged; the request id helps operators find it."
CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 400: "BAD_REQUEST"}


async def internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled exception on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(error_body(INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR"), 500, media_type="application/json")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = CODES.get(exc.status_code, "BAD_REQUEST" if exc.status_code < 500 else "INTERNAL_SERVER_ERROR")
    headers = dict(exc.headers or {})
    return Response(error_body(exc.detail, code), exc.status_code, headers, media_type="application/json")


HANDLERS = {Exception: internal_error, HTTPException: http_error}
