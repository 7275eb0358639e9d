"""The GraphQL schema: one module per domain, merged into one ``Query`` (and ``Mutation``, ``Subscription``).

A domain module exports ``Query`` / ``Mutation`` / ``Subscription`` classes; add them to the tuples below.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from observability.requests import OperationObserver
from schema import admin, applications, appointments, case_updates, departments, residents, services, stations
from schema.access_log import AccessLogging
from schema.deadline import request_deadline_extension
from schema.errors import ErrorShaping, Schema
from schema.inputs import TextLimits, check_schema, input_text
from schema.limits import QueryLimits, query_limiter

QUERIES: tuple[type, ...] = (
    departments.Query,
    services.Query,
    stations.Query,
    residents.Query,
    admin.Query,
    appointments.Query,
)
MUTATIONS: tuple[type, ...] = (
    residents.Mutation,
    admin.Mutation,
    applications.Mutation,
    appointments.Mutation,
)
SUBSCRIPTIONS: tuple[type, ...] = (case_updates.Subscription,)


def _merged(name: str, types: tuple[type, ...]) -> Any:
    return merge_types(name, types) if types else None


def build_schema(
    limits: QueryLimits | None = None, text: TextLimits | None = None, deadline_s: float = 5.0
) -> strawberry.Schema:
    schema = Schema(
        query=merge_types("Query", QUERIES),
        mutation=_merged("Mutation", MUTATIONS),
        subscription=_merged("Subscription", SUBSCRIPTIONS),
        extensions=[
            # first: a document over the limits is refused before it is parsed in full or validated
            query_limiter(limits or QueryLimits()),
            # parsing and validating the same document again is most of a small request's cost
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            ErrorShaping,
            input_text(text or TextLimits()),  # every string argument and variable, before execution
            request_deadline_extension(deadline_s),  # no department outlives the request
            OperationObserver,  # after ErrorShaping: sees the final, coded errors (metrics, access log)
            AccessLogging,  # personal data leaves only once its access-log rows are written
        ],
    )
    check_schema(schema._schema)
    return schema
