"""Onestop as an Apollo Federation v2 subgraph, so a city-level router can compose it with other graphs.

Additive only: ``Service``, ``Station`` and ``Department`` are entities keyed by ``id`` (``@key``), and
``Query`` gains the two fields a router uses, ``_service { sdl }`` and ``_entities(representations:)``.
Clients that never ask for them see the same schema as before (``schema.graphql`` leaves them out; see
``schema/contract.py``).

* ``_service`` is the whole subgraph SDL, i.e. introspection by another name: it is answered where
  introspection is on (development), and in production only to an operator's token (routers usually
  compose from ``onestop schema print --federation`` at build time and never ask).
* ``_entities`` resolves public data only and is checked before anything runs: at most
  ``MAX_REPRESENTATIONS`` references, each ``{"__typename": <entity>, "id": <string>}``; anything else is
  ``BAD_USER_INPUT`` naming the reference, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.federation.schema import FederationAny
from strawberry.printer import print_schema

from identity.principal import Role
from resolvers.errors import InputError
from schema.context import Info
from schema.errors import Schema

ENTITIES = ("Department", "Service", "Station")
MAX_REPRESENTATIONS = 500  # a router's entity batch for one list field; the cost limit sees its length


class Subgraph(Schema):
    """The served schema: a federation subgraph that checks the references a router sends."""

    def __init__(self, *args: Any, introspection: bool = True, **kwargs: Any) -> None:
        self.introspection = introspection
        self._sdl: str | None = None
        super().__init__(*args, **kwargs)

    def subgraph_sdl(self) -> str:
        if self._sdl is None:
            self._sdl = print_schema(self)
        return self._sdl

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        check_representations(representations)
        return super().entities_resolver(info, representations)


def check_representations(representations: list[Any]) -> None:
    if len(representations) > MAX_REPRESENTATIONS:
        raise InputError("representations", f"at most {MAX_REPRESENTATIONS} references in one request")
    for index, representation in enumerate(representations):
        if not _is_reference(representation):
            raise InputError(
                f"representations[{index}]",
                f'a reference is {{"__typename": one of {", ".join(ENTITIES)}, "id": "<id>"}}',
            )


def _is_reference(value: object) -> bool:
    return (
        isinstance(value, Mapping)
        and set(value) == {"__typename", "id"}
        and value["__typename"] in ENTITIES
        and isinstance(value["id"], str)
        and 0 < len(value["id"]) <= 64
    )


@strawberry.type(name="_Service", description="This subgraph, for a federation router.")
class SubgraphService:
    sdl: str = strawberry.field(description="The subgraph SDL, with its federation directives")


@strawberry.type
class Query:
    @strawberry.field(
        name="_service",
        description="Federation: this subgraph's SDL, for routers. Needs introspection on, or an "
        "operator's token.",
    )
    def subgraph_service(self, info: Info) -> SubgraphService:
        schema = info.schema
        principal = info.context.principal
        allowed = getattr(schema, "introspection", False) or (
            principal is not None and principal.role is Role.OPERATOR
        )
        if not allowed or not isinstance(schema, Subgraph):
            raise GraphQLError(
                "the subgraph SDL is introspection: off on this gateway except for an operator's token",
                extensions={"code": "INTROSPECTION_DISABLED"},
            )
        return SubgraphService(sdl=schema.subgraph_sdl())
