"""What the request being served tells every layer below it: its id and its trace headers.

Set by the request observer and the tracer (this package), read where upstream calls are made
(``connectors.transport`` sends them to the departments) and where lines are logged. They live here, in
the package that owns them, so observability needs nothing of the connectors to set them.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping

# The id of the client request being served: sent to the departments as ``X-Request-Id`` so one request
# can be followed through their logs too, and written on every log line of the request.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "X-Request-Id"
# Headers an observer wants on the calls of the current attempt (W3C ``traceparent`` when tracing).
TRACE_HEADERS: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "trace_headers", default=None
)
