"""The GraphQL schema: one module per domain, merged into one ``Query`` (and ``Mutation``, ``Subscription``).

A domain module exports ``Query`` / ``Mutation`` / ``Subscription`` classes; add them to the tuples below.
The schema is also an Apollo Federation v2 subgraph (``schema/federation.py``); its client-facing SDL,
the contract front-ends code against, is ``schema.graphql`` (see ``schema/contract.py``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import strawberry
from strawberry.extensions import ParserCache

from observability.requests import OperationObserver
from schema import (
    activity_signups,
    admin,
    applications,
    appointments,
    case_updates,
    departments,
    federation,
    payments,
    questionnaires,
    residents,
    services,
    stations,
)
from schema.access_log import AccessLogging
from schema.deadline import request_deadline_extension
from schema.errors import ErrorShaping
from schema.execution import PlainFields, direct_resolvers
from schema.federation import Subgraph
from schema.inputs import TextLimits, check_schema, input_text
from schema.limits import QueryLimits, query_limiter
from schema.validated import document_validation

QUERIES: tuple[type, ...] = (
    departments.Query,
    services.Query,
    stations.Query,
    residents.Query,
    admin.Query,
    appointments.Query,
    questionnaires.Query,
    federation.Query,  # _service, gated (``_entities`` is added by the federation schema itself)
)
MUTATIONS: tuple[type, ...] = (
    residents.Mutation,
    admin.Mutation,
    applications.Mutation,
    appointments.Mutation,
    activity_signups.Mutation,
    questionnaires.Mutation,
    payments.Mutation,
)
SUBSCRIPTIONS: tuple[type, ...] = (case_updates.Subscription,)


def _root(name: str, types: tuple[type, ...], description: str) -> Any:
    """One root type from the domains' (strawberry's ``merge_types``, which takes no description)."""
    if not types:
        return None
    names = Counter(f.name for t in types for f in t.__strawberry_definition__.fields)  # type: ignore[attr-defined]
    twice = sorted(n for n, count in names.items() if count > 1)
    if twice:
        raise ValueError(f"{name}: fields defined twice: {', '.join(twice)}")
    return strawberry.type(type(name, types, {}), description=description)


def build_schema(
    limits: QueryLimits | None = None, text: TextLimits | None = None, deadline_s: float = 5.0
) -> strawberry.Schema:
    limits = limits or QueryLimits()
    schema = Subgraph(
        introspection=limits.introspection,  # also decides who may read ``_service { sdl }``
        # only @key is used, which every v2 has; 2.3 is what routers and composers of every vendor read
        # (strawberry's default 2.11 is refused by The Guild's composition, used by mesh-compose and Hive)
        federation_version="2.3",
        execution_context_class=PlainFields,  # plain scalar fields without per-field resolver machinery
        query=_root(
            "Query", QUERIES, "Onestop: the district's services, stations and departments in one graph."
        ),
        mutation=_root(
            "Mutation", MUTATIONS, "Applications, appointments, assisted sessions and connectors."
        ),
        subscription=_root(
            "Subscription",
            SUBSCRIPTIONS,
            "Live updates, over graphql-transport-ws on /graphql or graphql-sse on /graphql/stream.",
        ),
        extensions=[
            # first: a document over the limits is refused before it is parsed in full or validated
            query_limiter(limits),
            # parsing and validating the same document again is most of a small request's cost
            lambda: ParserCache(maxsize=512),
            document_validation(maxsize=512),  # strawberry's ValidationCache hashes the whole document
            ErrorShaping,
            input_text(text or TextLimits()),  # every string argument and variable, before execution
            request_deadline_extension(deadline_s),  # no department outlives the request
            OperationObserver,  # after ErrorShaping: sees the final, coded errors (metrics, access log)
            AccessLogging,  # personal data leaves only once its access-log rows are written
        ],
    )
    check_schema(schema._schema)
    direct_resolvers(schema)  # plain resolvers called without strawberry's per-call bookkeeping
    return schema
