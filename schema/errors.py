"""Every error a client sees has a stable ``extensions.code``; nothing internal leaks.

* a department that failed: ``UPSTREAM_*`` with ``extensions.department`` (from the request's notices);
* the client's own mistake: ``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``, ``BAD_USER_INPUT``;
* anything unexpected: ``INTERNAL_SERVER_ERROR`` with a fixed message; the real exception is logged.

Stale data served because a department failed is listed in the response's ``extensions.stale``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.errors import InputError
from resolvers.notices import Notices

log = logging.getLogger("onestop.errors")

INTERNAL_MESSAGE = "Internal error. It has been logged; the request id helps operators find it."


def _shape(error: GraphQLError, executing: bool) -> GraphQLError:
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    if "code" in extensions:
        return error
    if isinstance(original, InputError):
        extensions.update(code=original.code, argument=original.argument)
    elif original is not None:
        log.error("unexpected error at %s", error.path, exc_info=original)
        return GraphQLError(
            INTERNAL_MESSAGE, error.nodes, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"}
        )
    elif error.message.startswith("Syntax Error"):
        extensions["code"] = "GRAPHQL_PARSE_FAILED"
    elif executing:
        extensions["code"] = "BAD_USER_INPUT"  # variables that do not fit their declared types
    else:
        extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
    return GraphQLError(
        error.message, error.nodes, error.source, error.positions, error.path, original, extensions
    )


class ErrorShaping(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        self._executing = False
        yield
        result = self.execution_context.result
        if result is None:
            return
        errors = [_shape(e, self._executing) for e in result.errors or ()]
        notices = self._notices()
        if notices is not None:
            errors.extend(
                GraphQLError(
                    f"{f.department}: {f.message}",
                    path=list(f.path),
                    extensions={"code": f.code, "department": f.department},
                )
                for f in notices.failures
            )
        result.errors = errors or None

    def on_execute(self) -> Iterator[None]:
        self._executing = True
        yield

    def get_results(self) -> dict[str, Any]:
        notices = self._notices()
        if notices is None or not notices.stale:
            return {}
        return {
            "stale": [
                {"department": s.department, "data": s.capability, "ageSeconds": s.age_s, "reason": s.reason}
                for s in notices.stale
            ]
        }

    def _notices(self) -> Notices | None:
        return getattr(self.execution_context.context, "notices", None)
