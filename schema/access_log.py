"""Personal data leaves only after its access-log rows are written.

``Context.record_access`` collects the rows of an operation; this extension writes them in one
transaction when the operation has run — and if the store refuses, the response carries no data at
all, only ``ACCESS_LOG_UNAVAILABLE``: an unlogged read is worse than a failed one. Subscriptions keep
no batch (a subscription lasts as long as the client likes): their rows are written at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.context import Context

log = logging.getLogger("onestop.access")

UNAVAILABLE = "the access log could not be written, so personal data is withheld; try again"


class AccessLogging(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if not isinstance(context, Context):
            yield
            return
        context.access_batch = []
        yield
        batch, context.access_batch = context.access_batch, None
        if not batch:
            return
        try:
            await context.services.access.log.write(batch)
        except Exception:
            log.exception("access log write failed; withholding the response's data")
            result = self.execution_context.result
            if result is not None:
                # a path: the operation ran (HTTP 200, data null), it is its answer that is withheld
                path = list(result.data or {})[:1] or None
                result.data = None
                result.errors = [
                    GraphQLError(UNAVAILABLE, path=path, extensions={"code": "ACCESS_LOG_UNAVAILABLE"})
                ]

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        subscription = self.execution_context.operation_type is OperationType.SUBSCRIPTION
        if isinstance(context, Context) and subscription:
            context.access_batch = None
        yield
