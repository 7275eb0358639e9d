"""Every error a client sees has a stable ``extensions.code``; nothing internal leaks.

* a department that failed: ``UPSTREAM_*`` with ``extensions.department`` (from the request's notices);
* the client's own mistake: ``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``, ``BAD_USER_INPUT``;
* anything unexpected: ``INTERNAL_SERVER_ERROR`` with a fixed message; the real exception is logged.

Stale data served because a department failed is listed in the response's ``extensions.stale``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.notices import Notices
from schema.hooks import Runner

log = logging.getLogger("onestop.errors")

INTERNAL_MESSAGE = "Internal error. It has been logged; the request id helps operators find it."


def _shape(error: GraphQLError, executing: bool) -> GraphQLError:
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    # a typed refusal (InputError, AccessDenied, AdminRefused, BookingError, ...) carries its own
    # ``extensions`` with a code, which graphql-core copies onto the error it raises: kept as it is
    if "code" in extensions:
        return error
    if original is not None and not error.path and error.message.startswith("Variable '$"):
        # raised while coercing variables (a scalar's parser, a nested GraphQLError): the client's input;
        # any other pathless exception (an extension's hook failing) is internal and masked below
        extensions["code"] = "BAD_USER_INPUT"
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
    """Adds the departments' failures to ``errors`` and gives every error its code.

    Two hooks because strawberry has two paths: after a normal execution ``on_operation`` sees the
    result and appends upstream failures; ``get_results`` runs on every path (a parse error raised by
    ``ParserCache`` never reaches ``on_operation``'s second half) and shapes the final error list,
    which strawberry hands it as ``pre_execution_errors`` — the very list the response will carry.
    """

    def on_operation(self) -> Iterator[None]:
        self._executing = False
        yield
        result = self.execution_context.result
        notices = self._notices()
        if result is None or notices is None or not notices.failures:
            return
        result.errors = [
            *(result.errors or ()),
            *(
                GraphQLError(
                    f"{f.department}: {f.message}",
                    path=list(f.path),
                    extensions={"code": f.code, "department": f.department},
                )
                for f in notices.failures
            ),
        ]

    def on_execute(self) -> Iterator[None]:
        self._executing = True
        yield

    def get_results(self) -> dict[str, Any]:
        errors = self.execution_context.pre_execution_errors
        if errors:
            errors[:] = [_shape(e, getattr(self, "_executing", False)) for e in errors]
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


SUBSCRIPTION_OVER_HTTP = "SUBSCRIPTION_NOT_SUPPORTED_OVER_HTTP"


def subscription_refused() -> ExecutionResult:
    """What a subscription sent as a plain JSON request gets: a typed refusal, no ``data`` (400 under
    ``application/graphql-response+json``, 200 under ``application/json``, as for any request that
    could not run). Subscriptions are served over the websocket (graphql-transport-ws)."""
    message = "subscriptions are served over the websocket (graphql-transport-ws), not a plain HTTP request"
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": SUBSCRIPTION_OVER_HTTP})]
    )


class Schema(strawberry.federation.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One answer to a plain GraphQL request (JSON over POST or GET), never a 500.

        * A subscription has no single answer: graphql-core would run it as a query and fail with
          "Cannot return null for non-nullable field". Streams use ``subscribe`` (the websocket) or
          ``stream`` (strawberry's streaming transports), never this method, so refusing subscriptions
          here refuses exactly the plain requests.
        * The last shield: strawberry turns any ``Exception`` into a GraphQL error, but not a
          ``CancelledError`` this task did not ask for (a future shared with a cancelled field): that one
          would end the request as an untyped 500. A real cancellation (client gone, server stopping)
          still propagates.
        """
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        allowed.discard(OperationType.SUBSCRIPTION)
        try:
            return await super().execute(
                query,
                variable_values=variable_values,
                context_value=context_value,
                root_value=root_value,
                operation_name=operation_name,
                allowed_operation_types=allowed,
                operation_extensions=operation_extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                return subscription_refused()
            raise
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise
            log.error("a stray cancellation reached the operation", exc_info=True)
            internal = GraphQLError(INTERNAL_MESSAGE, extensions={"code": "INTERNAL_SERVER_ERROR"})
            return ExecutionResult(data=None, errors=[internal])

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> Runner:
        """Strawberry's runner, each extension's hooks wrapped once per class (``schema/hooks.py``)."""
        return Runner(execution_context=execution_context, extensions=extensions)

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Strawberry logs every error at ERROR; a client's typo is not an operator's problem.
        Unexpected exceptions are logged with their traceback by ``_shape``."""
