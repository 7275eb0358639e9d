"""Arguments converted by a plan made once (schema/arguments.py) reach resolvers exactly as strawberry's
own conversion hands them over."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import pytest
import strawberry
from strawberry.relay import GlobalID
from strawberry.schema import Schema

from schema.arguments import compile_arguments
from schema.execution import PlainFields, direct_resolvers


@strawberry.enum
class Size(Enum):
    SMALL = "small"
    LARGE = "large"


@strawberry.input
class Inner:
    sizes: list[Size]
    note: str | None = None


@strawberry.input
class Outer:
    ids: list[strawberry.ID] | None = strawberry.field(default=None)
    inner: Inner | None = None
    inners: list[Inner] | None = None
    size: Size = Size.SMALL
    count: int | None


def shown(value: Any) -> Any:
    """Every value with its Python type, so a str where an ID was meant, or a tuple, shows."""
    if isinstance(value, list):
        return ["list", [shown(v) for v in value]]
    if hasattr(value, "__dataclass_fields__"):
        return [type(value).__name__, {k: shown(getattr(value, k)) for k in value.__dataclass_fields__}]
    return [type(value).__name__, repr(value)]


@strawberry.type
class Query:
    @strawberry.field
    def echo(
        self,
        info: strawberry.Info,
        outer: Outer | None = None,
        first: int | None = None,
        sizes: list[Size] | None = None,
        name: Annotated[str, strawberry.argument(name="fullName")] = "x",
    ) -> str:
        return repr([shown(outer), shown(first), shown(sizes), shown(name), info.field_name])

    @strawberry.field
    async def later(self, first: int = 3) -> int:
        return first * 2


DOCUMENTS = [
    "{ echo }",
    '{ echo(first: 3, sizes: [SMALL, LARGE], fullName: "y") }',
    "{ echo(outer: {count: 1}) }",
    '{ echo(outer: {count: null, ids: ["a", "b"], size: LARGE}) }',
    '{ echo(outer: {count: 2, inner: {sizes: [LARGE]}, inners: [{sizes: []}, {sizes: [SMALL], note: "n"}]})'
    " }",
    "{ echo(outer: null, sizes: null) }",
    "{ later later2: later(first: 5) }",
]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_resolvers_receive_what_strawberry_would_give(document: str) -> None:
    ordinary = await Schema(Query).execute(document)
    direct = Schema(Query, execution_context_class=PlainFields)
    assert direct_resolvers(direct) == 2
    got = await direct.execute(document)
    assert ordinary.errors is None
    assert got.data == ordinary.data and got.errors is None


async def test_variables_and_defaults_too() -> None:
    document = "query Q($o: Outer, $s: [Size!]) { echo(outer: $o, sizes: $s) }"
    variables = {"o": {"count": 4, "inner": {"sizes": ["SMALL"]}}, "s": ["LARGE"]}
    direct = Schema(Query, execution_context_class=PlainFields)
    direct_resolvers(direct)
    for values in (variables, {}, {"o": None}):
        got = await direct.execute(document, variable_values=values)
        assert got.data == (await Schema(Query).execute(document, variable_values=values)).data


@strawberry.type
class Relay:
    @strawberry.field
    def node(self, id: GlobalID) -> str:
        return str(id)

    @strawberry.field
    def maybe(self, value: strawberry.Maybe[int]) -> str:
        return str(value)


def test_what_strawberry_builds_itself_is_left_to_it() -> None:
    schema = Schema(Relay)
    fields = {f.name: f for f in schema.get_type_by_name("Relay").fields}  # type: ignore[union-attr]
    for name in ("node", "maybe"):
        converter = compile_arguments(
            fields[name].arguments, schema.schema_converter.scalar_registry, schema.config.name_converter
        )
        assert converter is None
