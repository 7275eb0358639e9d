"""The GraphQL schema: one module per domain, merged into one ``Query``."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from schema import departments, services, stations
from schema.errors import ErrorShaping, Schema

Query = merge_types("Query", (departments.Query, services.Query, stations.Query))


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        extensions=[
            # parsing and validating the same document again is most of a small request's cost
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            ErrorShaping,
        ],
    )
