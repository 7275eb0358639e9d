"""The schema as a contract: the client-facing SDL, and the changes between two versions of it.

``schema.graphql`` (top level) is the contract front-ends code against and codegen reads: the schema
the gateway serves, minus the federation plumbing a router uses (``_service``, ``_entities``, ``_Any``,
``_Entity``, ``_Service``, ``@key``/``@link``), printed by graphql-core in lexicographic order so that
moving code around changes nothing. ``onestop schema print --federation`` prints the subgraph SDL.

A **breaking change** (graphql-core's ``find_breaking_changes``: a field or type removed, a type
changed, an argument added as required, ...) between the committed ``schema.graphql`` and the code's
schema is refused unless ``schema-changes.yaml`` acknowledges it — its exact description plus a reason
— so an intentional break is a reviewed line. Dangerous changes (an enum value added, a default
changed) are reported, never refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import strawberry
import yaml
from graphql import (
    BreakingChange,
    DangerousChange,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    lexicographic_sort_schema,
    print_schema,
)
from strawberry.printer import print_schema as print_strawberry_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema.graphql"
CHANGES_FILE = ROOT / "schema-changes.yaml"

FEDERATION_FIELDS = frozenset({"_service", "_entities"})
FEDERATION_TYPES = frozenset(
    {"_Service", "_Entity", "_Any", "link__Import", "link__Purpose", "FieldSet", "_FieldSet"}
)
FEDERATION_DIRECTIVES = frozenset(
    {
        "key",
        "link",
        "shareable",
        "external",
        "requires",
        "provides",
        "override",
        "inaccessible",
        "tag",
        "composeDirective",
        "interfaceObject",
        "authenticated",
        "requiresScopes",
        "policy",
        "extends",
    }
)


def client_schema(served: GraphQLSchema) -> GraphQLSchema:
    """``served`` without the federation fields, types and directives (a new schema; ``served`` is
    untouched). Every other type is kept, reachable or not."""
    query = served.query_type
    assert query is not None
    client_query = GraphQLObjectType(
        query.name,
        {name: f for name, f in query.fields.items() if name not in FEDERATION_FIELDS},
        interfaces=query.interfaces,
        description=query.description,
    )
    others = [
        t
        for name, t in served.type_map.items()
        if name not in FEDERATION_TYPES and not name.startswith("__") and t is not query
    ]
    return GraphQLSchema(
        query=client_query,
        mutation=served.mutation_type,
        subscription=served.subscription_type,
        types=others,
        directives=[d for d in served.directives if d.name not in FEDERATION_DIRECTIVES],
        description=served.description,
    )


def client_sdl(schema: strawberry.Schema) -> str:
    """The contract: deterministic (lexicographic) SDL of what clients are served."""
    return print_schema(lexicographic_sort_schema(client_schema(schema._schema))) + "\n"


def subgraph_sdl(schema: strawberry.Schema) -> str:
    """What ``_service { sdl }`` answers: the SDL with ``@link`` and ``@key``, for composition."""
    return print_strawberry_schema(schema) + "\n"


@dataclass(frozen=True, slots=True)
class Acknowledged:
    change: str  # graphql-core's description, e.g. "Field Service.feeFen was removed."
    reason: str


class ChangesFileError(ValueError):
    """``schema-changes.yaml`` is not a list of ``{change, reason}`` entries."""


def load_acknowledged(path: Path = CHANGES_FILE) -> list[Acknowledged]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("acknowledged") if isinstance(data, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ChangesFileError(f"{path.name}: `acknowledged` must be a list")
    acknowledged = []
    for index, entry in enumerate(entries):
        change = entry.get("change") if isinstance(entry, dict) else None
        reason = entry.get("reason") if isinstance(entry, dict) else None
        if (
            not isinstance(change, str)
            or not isinstance(reason, str)
            or not change.strip()
            or not reason.strip()
        ):
            raise ChangesFileError(f"{path.name}: entry {index} needs a `change` and a `reason` (non-empty)")
        acknowledged.append(Acknowledged(change.strip(), reason.strip()))
    return acknowledged


@dataclass(frozen=True, slots=True)
class Verdict:
    """The code's schema against the committed contract."""

    breaking: list[BreakingChange]
    dangerous: list[DangerousChange]
    unacknowledged: list[BreakingChange]
    current: bool  # the committed SDL is exactly the code's

    @property
    def ok(self) -> bool:
        return not self.unacknowledged


def compare(
    committed_sdl: str, new: GraphQLSchema, new_sdl: str, acknowledged: list[Acknowledged]
) -> Verdict:
    old = build_schema(committed_sdl)
    breaking = find_breaking_changes(old, new)
    known = {a.change for a in acknowledged}
    return Verdict(
        breaking=breaking,
        dangerous=find_dangerous_changes(old, new),
        unacknowledged=[c for c in breaking if c.description not in known],
        current=committed_sdl == new_sdl,
    )


def check(schema: strawberry.Schema, committed: Path = SCHEMA_FILE, changes: Path = CHANGES_FILE) -> Verdict:
    sdl = client_sdl(schema)
    return compare(committed.read_text(encoding="utf-8"), build_schema(sdl), sdl, load_acknowledged(changes))
