"""The GraphQL schema: one module per domain, merged into one ``Query`` (and ``Mutation``, ``Subscription``).

A domain module exports ``Query`` / ``Mutation`` / ``Subscription`` classes; add them to the tuples below.
The schema is also an Apollo Federation v2 subgraph (``schema/federation.py``); its client-facing SDL,
the contract front-ends code against, is ``schema.graphql`` (see ``schema/contract.py``).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from observability.requests import OperationObserver
from schema import (
    admin,
    applications,
    appointments,
    case_updates,
    departments,
    federation,
    residents,
    services,
    stations,
)
from schema.access_log import AccessLogging
from schema.errors import ErrorShaping
from schema.federation import Subgraph
from schema.limits import QueryLimits, query_limiter

QUERIES: tuple[type, ...] = (
    departments.Query,
    services.Query,
    stations.Query,
    residents.Query,
    admin.Query,
    appointments.Query,
    federation.Query,  # _service, gated (``_entities`` is added by the federation schema itself)
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


def build_schema(limits: QueryLimits | None = None) -> strawberry.Schema:
    limits = limits or QueryLimits()
    return Subgraph(
        introspection=limits.introspection,  # also decides who may read ``_service { sdl }``
        # only @key is used, which every v2 has; 2.3 is what routers and composers of every vendor read
        # (strawberry's default 2.11 is refused by The Guild's composition, used by mesh-compose and Hive)
        federation_version="2.3",
        query=merge_types("Query", QUERIES),
        mutation=_merged("Mutation", MUTATIONS),
        subscription=_merged("Subscription", SUBSCRIPTIONS),
        extensions=[
            # first: a document over the limits is refused before it is parsed in full or validated
            query_limiter(limits),
            # parsing and validating the same document again is most of a small request's cost
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            ErrorShaping,
            OperationObserver,  # after ErrorShaping: sees the final, coded errors (metrics, access log)
            AccessLogging,  # personal data leaves only once its access-log rows are written
        ],
    )
