"""One deadline for the whole of a query or mutation: every department it asks answers within it.

Each department's policy bounds its own calls (``timeout_s`` per attempt, ``deadline_s`` for the whole
operation, retries included), but a request that fans out to many departments, some of them twice
(catalogue, then facts), could take a department's whole deadline and more. This extension opens
``connectors.resilience.request_deadline`` around execution, so the deadline passes down to every
upstream call the operation makes, however deep: a department still working when it passes is
``UPSTREAM_TIMEOUT`` with null for its data, and the rest of the answer is sent at once.

Subscriptions run for as long as the client listens: they have no request deadline (each upstream call
they make keeps its department's own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from connectors.resilience import request_deadline


class RequestDeadline(SchemaExtension):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            yield
            return
        with request_deadline(self.seconds):
            yield


def request_deadline_extension(seconds: float) -> Callable[[], RequestDeadline]:
    """A factory for the schema's extensions list (strawberry wants classes or factories)."""
    return lambda: RequestDeadline(seconds)
