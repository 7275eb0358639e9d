"""The last resort: an exception no one caught becomes a typed JSON 500, never a traceback or text.

Starlette's own last handler answers a plain-text "Internal Server Error" (or, in debug, the traceback);
this keeps the body in the shape every other refusal has, with the fixed message of ``schema.errors``.
The exception itself goes to the log (Starlette re-raises it after the response for the server to log).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from middleware.responses import error_body

log = logging.getLogger("onestop.errors")

INTERNAL_MESSAGE = "Internal error. It has been logged; the request id helps operators find it."


async def internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled exception on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(error_body(INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR"), 500, media_type="application/json")
