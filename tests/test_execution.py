"""Plain fields completed in one step (schema/execution.py) answer exactly as graphql-core would."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import ExperimentalIncrementalExecutionResults
from strawberry.extensions import ParserCache
from strawberry.schema import Schema
from strawberry.schema.config import StrawberryConfig

from schema.execution import PlainFields, direct_resolvers


@strawberry.enum
class Colour(Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Thing:
    name: str
    maybe: str | None
    count: int
    colour: Colour
    tags: list[str]
    colours: list[Colour]


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing]:
        return [
            Thing(name="a", maybe=None, count=1, colour=Colour.RED, tags=["x", "y"], colours=[Colour.BLUE]),
            Thing(name=None, maybe="m", count="many", colour="GREEN", tags=["x", None], colours=[]),  # type: ignore[arg-type]
        ]


async def answer(plain: bool, document: str) -> dict[str, Any]:
    schema = Schema(Query, execution_context_class=PlainFields if plain else None)
    result = await schema.execute(document)
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or ())
    return {"data": result.data, "errors": errors}


@pytest.mark.parametrize("field", ["name", "count", "colour", "tags", "name maybe count colour tags colours"])
async def test_values_nulls_and_errors_are_graphql_cores(field: str) -> None:
    document = "{ things { " + field + " } }"
    fast, ordinary = await answer(True, document), await answer(False, document)
    assert fast == ordinary
    assert fast["data"] is None  # a non-null field of a non-null item failed: null up to the root
    assert fast["errors"] and all(path[:2] == ("things", 1) for _, path in fast["errors"])


async def test_good_values_are_served_without_resolve_info(monkeypatch: pytest.MonkeyPatch) -> None:
    infos: list[str] = []
    build = PlainFields.build_resolve_info

    def counting(self: PlainFields, field: Any, nodes: Any, *args: Any) -> Any:
        infos.append(nodes[0].name.value)
        return build(self, field, nodes, *args)

    monkeypatch.setattr(PlainFields, "build_resolve_info", counting)
    schema = Schema(Query, execution_context_class=PlainFields)
    result = await schema.execute("{ things { maybe tags colours } }")
    assert result.data is None or result.errors  # the second thing's tags hold a null
    ok = await schema.execute("{ things { maybe colours } }")
    assert ok.errors is None
    assert ok.data == {"things": [{"maybe": None, "colours": ["BLUE"]}, {"maybe": "m", "colours": []}]}
    assert infos.count("colours") == 0 and infos.count("maybe") == 0  # plain lists and nulls in one step


@strawberry.type
class Mixed:
    name: str
    maybe: str | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str:
        return self.name * 2

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError("no")


@strawberry.type
class MixedQuery:
    @strawberry.field
    def mixed(self) -> list[Mixed]:
        return [Mixed(name="a", maybe=None), Mixed(name="b", maybe="m")]


async def test_an_object_of_plain_and_resolved_fields_keeps_order_aliases_and_errors() -> None:
    """``execute_fields`` completes plain fields inline and hands the rest to graphql-core: same keys in
    the same order, aliases, ``__typename``, skipped fields, errors with their paths, awaited fields."""
    document = """{ mixed { later first: name __typename shout maybe broken again: maybe
        hidden: name @skip(if: true) name later2: later } }"""
    fast = await Schema(MixedQuery, execution_context_class=PlainFields).execute(document)
    ordinary = await Schema(MixedQuery).execute(document)
    assert fast.data == ordinary.data
    assert [list(item) for item in fast.data["mixed"]] == [list(item) for item in ordinary.data["mixed"]]  # type: ignore[index]
    assert sorted((e.message, tuple(e.path or ())) for e in fast.errors or ()) == sorted(
        (e.message, tuple(e.path or ())) for e in ordinary.errors or ()
    )
    assert fast.data["mixed"][0]["first"] == "a" and fast.data["mixed"][1]["later2"] == "bb"  # type: ignore[index]


@pytest.mark.parametrize("type_name", ["String", "ID", "Int", "Boolean", "Float", "Colour"])
def test_the_quick_coercions_give_what_the_scalar_gives(type_name: str) -> None:
    from graphql import specified_scalar_types

    from schema.execution import coercer

    leaf: Any = Schema(Query)._schema.get_type(type_name) or specified_scalar_types[type_name]
    values: list[Any] = ["x", "", 0, 1, -1, 2**31 - 1, 2**31, -(2**31) - 1, True, False, 1.0, 1.5, None]
    values += [Colour.RED, Colour.BLUE, "RED", "GREEN", [1]]
    quick = coercer(leaf)
    for value in values:
        try:
            expected: Any = ("ok", leaf.coerce_output_value(value))
        except Exception as error:
            expected = ("error", type(error))
        try:
            got: Any = ("ok", quick(value))
        except Exception as error:
            got = ("error", type(error))
        assert got == expected, value


class _Refuse(strawberry.BasePermission):
    message = "refused"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Resolved:
    name: str

    @strawberry.field
    def plain(self, info: strawberry.Info) -> str:
        return f"{self.name}:{info.field_name}:{info.path.key}"

    @strawberry.field
    def failing(self) -> str | None:
        raise ValueError(f"{self.name} failed")

    @strawberry.field
    def with_argument(self, times: int = 2) -> str:
        return self.name * times

    @strawberry.field(permission_classes=[_Refuse])
    def guarded(self) -> str | None:
        return "secret"


@strawberry.type
class ResolvedQuery:
    @strawberry.field
    def items(self) -> list[Resolved]:
        return [Resolved(name="a"), Resolved(name="b")]


async def test_plain_resolvers_are_called_directly_with_the_same_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from strawberry.schema import schema_converter

    from schema.execution import direct_resolvers

    document = "{ items { plain failing withArgument guarded alias: plain } }"
    ordinary = await Schema(ResolvedQuery).execute(document)
    direct = Schema(ResolvedQuery, execution_context_class=PlainFields)
    assert direct_resolvers(direct) == 4  # items, plain, failing, with_argument: not the permission
    converted: list[str] = []
    convert = schema_converter.get_arguments

    def counting(**kwargs: Any) -> Any:
        converted.append(kwargs["field"].name)
        return convert(**kwargs)

    monkeypatch.setattr(schema_converter, "get_arguments", counting)
    got = await direct.execute(document)
    assert got.data == ordinary.data
    assert got.data["items"][0]["plain"] == "a:plain:plain"  # type: ignore[index]
    assert [(e.message, e.path) for e in got.errors or ()] == [
        (e.message, e.path) for e in ordinary.errors or ()
    ]
    assert sorted(set(converted)) == ["guarded"]  # the others skip strawberry's wrapper


@strawberry.type
class Leaf:
    name: str

    @strawberry.field
    def strict(self) -> str:
        if self.name == "bad":
            raise ValueError("strict failed")
        return self.name

    @strawberry.field
    async def later(self) -> str | None:
        if self.name == "late":
            raise ValueError("later failed")
        return self.name


@strawberry.type
class Holder:
    one: Leaf
    maybe: Leaf | None
    many: list[Leaf]
    some: list[Leaf] | None


@strawberry.type
class HolderQuery:
    @strawberry.field
    def holders(self) -> list[Holder | None]:
        good, bad, late = Leaf(name="good"), Leaf(name="bad"), Leaf(name="late")
        return [
            Holder(one=good, maybe=None, many=[good, late], some=[good]),
            Holder(one=good, maybe=bad, many=[good], some=[good, bad]),
            Holder(one=bad, maybe=good, many=[], some=None),
            Holder(one=good, maybe=good, many=[good, None], some=[late]),  # type: ignore[list-item]
        ]


@pytest.mark.parametrize(
    "selection",
    [
        "one { name } maybe { name } many { name } some { name }",
        "one { name strict } maybe { strict } many { name later } some { strict later }",
        "many { later name } some { later }",
        "one { __typename name } many @skip(if: true) { name } aliased: many { n: name }",
    ],
)
async def test_plain_objects_and_lists_answer_as_graphql_core(selection: str) -> None:
    """Objects held by plain attributes run their fields at once; nulls, errors in items and in their
    fields, awaited fields and null propagation are graphql-core's."""
    document = "{ holders { " + selection + " } }"
    fast = await Schema(HolderQuery, execution_context_class=PlainFields).execute(document)
    ordinary = await Schema(HolderQuery).execute(document)
    assert fast.data == ordinary.data
    assert [e.formatted for e in fast.errors or ()] == [e.formatted for e in ordinary.errors or ()]


async def test_plain_objects_are_completed_without_resolve_info(monkeypatch: pytest.MonkeyPatch) -> None:
    infos: list[str] = []
    build = PlainFields.build_resolve_info

    def counting(self: PlainFields, field: Any, nodes: Any, *args: Any) -> Any:
        infos.append(nodes[0].name.value)
        return build(self, field, nodes, *args)

    monkeypatch.setattr(PlainFields, "build_resolve_info", counting)
    result = await Schema(HolderQuery, execution_context_class=PlainFields).execute(
        "{ holders { one { name } some { name } } }"
    )
    assert result.errors is None
    assert infos == ["holders"]  # one, some and their names: no resolver machinery at all


@strawberry.type
class Owned:
    name: str

    @strawberry.field
    def owner(self, info: strawberry.Info) -> Leaf | None:
        if self.name == "raises":
            raise ValueError("owner failed")
        return None if self.name == "none" else Leaf(name=f"{self.name}:{info.field_name}")

    @strawberry.field
    def required(self) -> Leaf:
        return None if self.name == "none" else Leaf(name="bad" if self.name == "raises" else "ok")  # type: ignore[return-value]

    @strawberry.field
    def odd(self) -> Leaf | None:
        return "not a leaf" if self.name == "raises" else Leaf(name="odd")  # type: ignore[return-value]


@strawberry.type
class OwnedQuery:
    @strawberry.field
    def owned(self) -> list[Owned | None]:
        return [Owned(name="a"), Owned(name="none"), Owned(name="raises")]


@pytest.mark.parametrize(
    "selection",
    [
        "owner { name }",
        "name owner { name strict later } required { name }",
        "required { strict name } odd { name }",
        "owner { __typename ... on Leaf { name } } again: owner @include(if: false) { name }",
        "owner { ... @defer { name } }",
    ],
)
async def test_called_objects_answer_as_graphql_core(selection: str) -> None:
    """A plain resolver's object (a service's department) runs its fields at once; nulls, errors,
    null propagation through a non-null field, a value of the wrong kind are graphql-core's."""
    document = "{ owned { " + selection + " } }"
    fast_schema = Schema(OwnedQuery, execution_context_class=PlainFields)
    assert direct_resolvers(fast_schema) == 6  # owned, owner, required, odd, Leaf's strict and later
    fast = await fast_schema.execute(document)
    ordinary = await Schema(OwnedQuery).execute(document)
    assert fast.data == ordinary.data
    assert [e.formatted for e in fast.errors or ()] == [e.formatted for e in ordinary.errors or ()]


async def test_called_objects_skip_complete_value(monkeypatch: pytest.MonkeyPatch) -> None:
    completed: list[str] = []
    complete = PlainFields.complete_value

    def counting(self: PlainFields, return_type: Any, *args: Any) -> Any:
        completed.append(str(return_type))
        return complete(self, return_type, *args)

    monkeypatch.setattr(PlainFields, "complete_value", counting)
    schema = Schema(OwnedQuery, execution_context_class=PlainFields)
    direct_resolvers(schema)
    result = await schema.execute("{ owned { owner { name } } }")
    assert result.data == {"owned": [{"owner": {"name": "a:owner"}}, {"owner": None}, {"owner": None}]}
    assert [(e.message, e.path) for e in result.errors or ()] == [("owner failed", ["owned", 2, "owner"])]
    assert "Leaf" not in completed  # the owner objects: no complete_value, only owned's own list


@pytest.mark.parametrize("type_name", ["String", "ID", "Boolean", "Int", "Float", "Colour"])
def test_values_served_as_they_are_are_what_the_scalar_gives(type_name: str) -> None:
    """A str for a String or ID, a bool for a Boolean: graphql-core's scalar gives each back itself."""
    from graphql import specified_scalar_types

    from schema.execution import _same

    leaf: Any = Schema(Query)._schema.get_type(type_name) or specified_scalar_types[type_name]
    same = _same(leaf)
    assert same is {"String": str, "ID": str, "Boolean": bool, "Int": int}.get(type_name)
    for value in ["x", "", "RED", True, False, 0, -(2**31), 2**31 - 1, 1.5]:
        if type(value) is same:
            assert leaf.coerce_output_value(value) == value and type(leaf.coerce_output_value(value)) is same


async def test_strings_are_served_without_a_coercion_call(monkeypatch: pytest.MonkeyPatch) -> None:
    import schema.execution

    calls: list[Any] = []
    complete = schema.execution._complete

    def counting(*args: Any) -> Any:
        calls.append(args[1])
        return complete(*args)

    monkeypatch.setattr(schema.execution, "_complete", counting)
    result = await Schema(Query, execution_context_class=PlainFields).execute("{ things { name maybe } }")
    assert result.data is None  # the second thing's name is null
    assert calls == [None]  # the second thing's name (not null here); "a", "m", a null maybe as they are


async def test_a_document_is_collected_once_then_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    """An operation without variables collects its fields in its first request only; the next ones
    answer the same from the kept plan (the parser hands them the same document)."""
    import graphql.execution.executor as executor
    from graphql.execution.collect_fields import collect_subfields as collect

    collected: list[str] = []

    def counting(schema: Any, fragments: Any, variables: Any, operation: Any, type_: Any, *rest: Any) -> Any:
        collected.append(type_.name)
        return collect(schema, fragments, variables, operation, type_, *rest)

    monkeypatch.setattr(executor, "collect_subfields", counting)
    schema = Schema(HolderQuery, execution_context_class=PlainFields, extensions=[lambda: ParserCache(8)])
    document = "query Planned { holders { ...Parts many { name } } }"
    document += " fragment Parts on Holder { one { n: name } }"
    first = await schema.execute(document)
    assert sorted(set(collected)) == ["Holder", "Leaf"]
    collected.clear()
    again = [await schema.execute(document) for _ in range(3)]
    assert collected == []  # every collection came from the plan
    assert all(r.data == first.data and r.errors == first.errors for r in again)
    assert first.data == (await Schema(HolderQuery).execute(document)).data


async def test_documents_with_variables_or_defer_collect_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``@skip(if: $v)`` collects depends on the request: nothing is kept for it, and answers
    follow the variables; a deferred fragment's usages are one execution's: nothing kept either."""
    import graphql.execution.executor as executor
    from graphql.execution.collect_fields import collect_subfields as collect

    collected: list[str] = []

    def counting(*args: Any) -> Any:
        collected.append(args[4].name)
        return collect(*args)

    monkeypatch.setattr(executor, "collect_subfields", counting)
    schema = Schema(
        HolderQuery,
        execution_context_class=PlainFields,
        extensions=[lambda: ParserCache(8)],
        config=StrawberryConfig(enable_experimental_incremental_execution=True),
    )
    document = "query V($skip: Boolean!) { holders { one { name } many @skip(if: $skip) { name } } }"
    shown = await schema.execute(document, variable_values={"skip": False})
    hidden = await schema.execute(document, variable_values={"skip": True})
    assert "many" in shown.data["holders"][0] and "many" not in hidden.data["holders"][0]  # type: ignore[index]
    assert collected.count("Holder") == 2
    collected.clear()
    deferred = "{ holders { one { ... @defer { name } } } }"
    first, second = await schema.execute(deferred), await schema.execute(deferred)
    assert isinstance(first, ExperimentalIncrementalExecutionResults)
    assert isinstance(second, ExperimentalIncrementalExecutionResults)
    assert first.initial_result.data == second.initial_result.data
    assert second.initial_result.data == {"holders": [{"one": {}}] * 4}
    assert collected.count("Holder") == 2


@strawberry.type
class Counted:
    count: int
    maybe: int | None


@strawberry.type
class CountedQuery:
    @strawberry.field
    def counted(self) -> list[Counted | None]:
        values = [0, -(2**31), 2**31 - 1, 2**31, -(2**31) - 1, None]
        return [Counted(count=v, maybe=v) for v in values]  # type: ignore[arg-type]


async def test_ints_within_32_bits_are_served_as_they_are_others_refused_as_graphql_core() -> None:
    document = "{ counted { count maybe } }"
    fast = await Schema(CountedQuery, execution_context_class=PlainFields).execute(document)
    ordinary = await Schema(CountedQuery).execute(document)
    assert fast.data == ordinary.data
    assert [e.formatted for e in fast.errors or ()] == [e.formatted for e in ordinary.errors or ()]
    assert fast.data is not None and fast.data["counted"][:3] == [
        {"count": v, "maybe": v} for v in (0, -(2**31), 2**31 - 1)
    ]


@strawberry.input
class Picks:
    names: list[str]
    limit: int = 2


@strawberry.type
class ArgumentQuery:
    @strawberry.field
    async def picked(self, picks: Picks, words: list[str] | None = None) -> list[str]:
        chosen = picks.names[: picks.limit]
        picks.names.append("mutated")  # a resolver changing what it got must not reach the next request
        if words is not None:
            words.append("mutated")
        return chosen + (words or [])

    @strawberry.field
    def times(self, times: int = 2) -> str | None:
        if times < 0:
            raise ValueError("negative")
        return "x" * times


async def test_argument_values_are_kept_per_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """An operation without variables converts its literal arguments once; what a resolver does to
    its own copy never reaches the next request; with variables they are read every time."""
    import schema.execution

    read: list[str] = []
    values = schema.execution.get_argument_values

    def counting(field: Any, node: Any, *rest: Any) -> Any:
        read.append(node.name.value)
        return values(field, node, *rest)

    monkeypatch.setattr(schema.execution, "get_argument_values", counting)
    fast = Schema(ArgumentQuery, execution_context_class=PlainFields, extensions=[lambda: ParserCache(8)])
    assert direct_resolvers(fast) == 2
    document = (
        '{ picked(picks: {names: ["a", "b", "c"]}, words: ["w"]) times(times: 3) neg: times(times: -1) }'
    )
    expected = await Schema(ArgumentQuery).execute(document)
    answers = [await fast.execute(document) for _ in range(3)]
    assert all(
        a.data == expected.data == {"picked": ["a", "b", "w", "mutated"], "times": "xxx", "neg": None}
        for a in answers
    )
    assert all(
        [e.formatted for e in a.errors or ()] == [e.formatted for e in expected.errors or ()] for a in answers
    )
    assert sorted(read) == ["picked", "times", "times"]  # the first request only
    read.clear()
    with_variables = "query Q($n: Int!) { times(times: $n) }"
    assert (await fast.execute(with_variables, variable_values={"n": 1})).data == {"times": "x"}
    assert (await fast.execute(with_variables, variable_values={"n": 4})).data == {"times": "xxxx"}
    assert read == ["times", "times"]
