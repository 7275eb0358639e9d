"""Limits on what one GraphQL document may ask, checked before any resolver runs.

A public endpoint must refuse documents whose cost is out of proportion to their size: deeply nested
selections, hundreds of aliases of one expensive field, lists inside lists. Each limit answers with a
typed error carrying the limit and the document's actual value:

* ``TOO_MANY_TOKENS`` — checked before parsing (a document of n characters has at most n tokens, so
  short documents skip the count; long ones are counted once with graphql-core's lexer, bounded);
* ``QUERY_TOO_DEEP``, ``TOO_MANY_ALIASES``, ``INTROSPECTION_DISABLED`` and ``QUERY_TOO_COMPLEX`` —
  checked on the parsed document before validation, in one walk.

Cost: every field costs 1, times the size of each list it sits in. A list's size is its ``first`` /
``last`` / ``limit`` argument (literal, variable, or the argument's default), the length of the
``representations`` a federation router sends to ``_entities``, else ``default_list_size``.
A size argument on a field that returns a connection object applies to the next list below it
(``services(first: 20) { edges { … } }`` counts ``edges`` as 20). Fragments are walked once each and
reused, so a fragment spread many times costs nothing extra to analyse.

The analysis is cached per (document, operation, list-size variables), beside strawberry's parser and
validation caches: a repeated query pays one dictionary lookup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from graphql.error import GraphQLSyntaxError
from graphql.language import Lexer, Source, TokenKind
from strawberry.extensions import SchemaExtension

SIZE_ARGUMENTS = ("first", "last", "limit", "representations")
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
CACHE_SIZE = 1024
TOKEN_COUNT_CAP = 8  # a document over the limit is counted up to this many times the limit, no further


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The limits one gateway enforces (from ``Settings``; the defaults are the production ones)."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_complexity: int = 20000
    default_list_size: int = 10
    introspection: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> QueryLimits:
        return cls(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_complexity=settings.max_complexity,
            default_list_size=settings.default_list_size,
            introspection=settings.introspection_enabled,
        )


def limit_error(code: str, message: str, limit: int, actual: int | str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, "limit": limit, "actual": actual})


# -- tokens, before parsing -----------------------------------------------------------------------


def count_tokens(query: str, cap: int) -> int | None:
    """Lexical tokens in ``query`` (as graphql-core's parser counts them), at most ``cap``.
    None when the lexer fails: the parser will then give the client its syntax error."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count < cap and lexer.advance().kind is not TokenKind.EOF:
            count += 1
    except GraphQLSyntaxError:
        return None
    return count


def token_verdict(query: str, limit: int) -> GraphQLError | None:
    """``TOO_MANY_TOKENS`` for a document over the limit, else None."""
    actual = count_tokens(query, cap=limit * TOKEN_COUNT_CAP + 1)
    if actual is None or actual <= limit:
        return None
    shown: int | str = actual if actual <= limit * TOKEN_COUNT_CAP else f">{limit * TOKEN_COUNT_CAP}"
    return limit_error("TOO_MANY_TOKENS", f"the document has {shown} tokens; at most {limit}", limit, shown)


# -- depth, aliases, introspection and cost, in one walk --------------------------------------------


@dataclass(slots=True)
class Shape:
    """What one selection set asks: nesting below it, aliases in it, and its cost per instance."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0
    introspection: bool = False

    def add(self, other: Shape) -> None:
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases
        self.cost += other.cost
        self.introspection = self.introspection or other.introspection


@dataclass(slots=True)
class Walk:
    """One walk of one operation with its variables; fragments memoised by (name, type, pending size)."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    defaults: Mapping[str, Any]
    default_list_size: int
    memo: dict[tuple[str, str, int | None], Shape] = field(default_factory=dict)
    visiting: set[str] = field(default_factory=set)

    def selection(
        self, node: SelectionSetNode | None, parent: GraphQLNamedType | None, pending: int | None
    ) -> Shape:
        shape = Shape()
        if node is None:
            return shape
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                shape.add(self.field(selection, parent, pending))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                shape.add(self.selection(selection.selection_set, inner, pending))
            elif isinstance(selection, FragmentSpreadNode):
                shape.add(self.spread(selection.name.value, pending))
        return shape

    def spread(self, name: str, pending: int | None) -> Shape:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            return Shape()  # unknown or cyclic: validation refuses the document with its own error
        key = (name, fragment.type_condition.name.value, pending)
        if key not in self.memo:
            self.visiting.add(name)
            inner = self.schema.get_type(fragment.type_condition.name.value)
            self.memo[key] = self.selection(fragment.selection_set, inner, pending)
            self.visiting.discard(name)
        return self.memo[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, pending: int | None) -> Shape:
        name = node.name.value
        if name in INTROSPECTION_FIELDS:
            # the schema describing itself: bounded by the schema, no department is asked, and GraphiQL's
            # own introspection query nests 15 deep; allowed or refused as a whole
            return Shape(depth=1, cost=1, introspection=True)
        definition = _field(parent, name)
        size = self.size(node, definition)
        is_list = definition is not None and isinstance(get_nullable_type(definition.type), GraphQLList)
        multiplier = 1
        if is_list:
            multiplier = size if size is not None else (pending or self.default_list_size)
            pending = None
        elif size is not None:
            pending = size  # a connection: the size applies to the list below
        child_type = get_named_type(definition.type) if definition is not None else None
        child = self.selection(node.selection_set, child_type, pending)
        shape = Shape(
            depth=1 + child.depth if name != "__typename" else 0,
            aliases=(1 if node.alias is not None else 0) + child.aliases,  # in the text, not per item
            cost=multiplier * (1 + child.cost),
            introspection=child.introspection,
        )
        return shape

    def size(self, node: FieldNode, definition: GraphQLField | None) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value not in SIZE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return _positive(value.value)
            if isinstance(value, ListValueNode):
                return len(value.values)
            if isinstance(value, VariableNode):
                name = value.name.value
                return _positive(self.variables.get(name, self.defaults.get(name)))
        if definition is not None:
            for name in SIZE_ARGUMENTS:
                declared = definition.args.get(name)
                if declared is not None and isinstance(declared.default_value, int):
                    return _positive(declared.default_value)
        return None


def _positive(value: object) -> int | None:
    """A list size from a literal's text or a variable's value; None for anything else (the resolver
    then refuses it with BAD_USER_INPUT)."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    if isinstance(value, list):
        return len(value)  # _entities' representations
    return None


def _field(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None  # a union or an unknown type: validation has its say


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def _root(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
    return schema.get_root_type(operation.operation)


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    default_list_size: int,
) -> Shape:
    """The shape of the operation that would run (nothing when there is none to pick: validation says)."""
    operation = _operation(document, operation_name)
    if operation is None:
        return Shape()
    defaults = {
        v.variable.name.value: getattr(v.default_value, "value", None)
        for v in operation.variable_definitions or ()
    }
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walk = Walk(schema, fragments, variables, defaults, default_list_size)
    return walk.selection(operation.selection_set, _root(schema, operation), None)


def size_variables(document: DocumentNode) -> tuple[str, ...]:
    """Variables used as list sizes anywhere in the document: the part of the cache key that varies."""
    names: set[str] = set()

    def visit(node: SelectionSetNode | None) -> None:
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    if argument.name.value in SIZE_ARGUMENTS and isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)
            visit(getattr(selection, "selection_set", None))

    for definition in document.definitions:
        visit(getattr(definition, "selection_set", None))
    return tuple(sorted(names))


class LRU(OrderedDict[Any, Any]):
    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def remember(self, key: Any, value: Any) -> Any:
        self[key] = value
        if len(self) > self.maxsize:
            self.popitem(last=False)
        return value


class Analyzer:
    """Checks documents against ``QueryLimits``; caches verdicts per document and list-size variables."""

    def __init__(self, limits: QueryLimits, maxsize: int = CACHE_SIZE) -> None:
        self.limits = limits
        self._size_variables: LRU = LRU(maxsize)
        self._verdicts: LRU = LRU(maxsize)
        self._tokens: LRU = LRU(maxsize)

    def check_tokens(self, query: str) -> None:
        """Raise ``TOO_MANY_TOKENS`` for a document over the limit, counting each long document once."""
        limit = self.limits.max_tokens
        if len(query) <= limit:
            return  # every token is at least one character long: nothing to count
        verdict = self._tokens.get(query, _MISSING)
        if verdict is _MISSING:
            verdict = self._tokens.remember(query, token_verdict(query, limit))
        if verdict is not None:
            raise verdict

    def check(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> None:
        """Raise the typed error of the first limit the operation breaks; return when it breaks none."""
        names = self._size_variables.get(query)
        if names is None:
            names = self._size_variables.remember(query, size_variables(document))
        variables = variables or {}
        key = (query, operation_name, tuple(_hashable(variables.get(n)) for n in names))
        verdict = self._verdicts.get(key, _MISSING)
        if verdict is _MISSING:
            shape = measure(schema, document, operation_name, variables, self.limits.default_list_size)
            verdict = self._verdicts.remember(key, self.verdict(shape))
        if verdict is not None:
            raise verdict

    def verdict(self, shape: Shape) -> GraphQLError | None:
        limits = self.limits
        if shape.introspection and not limits.introspection:
            return GraphQLError(
                "introspection is disabled on this gateway", extensions={"code": "INTROSPECTION_DISABLED"}
            )
        if shape.depth > limits.max_depth:
            return limit_error(
                "QUERY_TOO_DEEP",
                f"the query nests {shape.depth} levels deep; at most {limits.max_depth}",
                limits.max_depth,
                shape.depth,
            )
        if shape.aliases > limits.max_aliases:
            return limit_error(
                "TOO_MANY_ALIASES",
                f"the query has {shape.aliases} aliases; at most {limits.max_aliases}",
                limits.max_aliases,
                shape.aliases,
            )
        if shape.cost > limits.max_complexity:
            return limit_error(
                "QUERY_TOO_COMPLEX",
                f"the query would resolve about {shape.cost} fields; at most {limits.max_complexity}",
                limits.max_complexity,
                shape.cost,
            )
        return None


_MISSING = object()


def _hashable(value: object) -> object:
    if isinstance(value, list):
        return ("length", len(value))  # only a list's length counts as a size
    return value if isinstance(value, (int, str, float, bool, type(None))) else repr(value)[:64]


class QueryLimiter(SchemaExtension):
    """Refuses documents over the limits: tokens before parsing, the rest before validation.

    Must come before ``ParserCache`` and ``ValidationCache`` in the schema's extensions, so a refused
    document is never parsed in full or validated. A refusal is raised as a typed ``GraphQLError``;
    strawberry turns it into the response's only error.
    """

    def __init__(self, analyzer: Analyzer) -> None:
        super().__init__()
        self.analyzer = analyzer

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query:
            self.analyzer.check_tokens(query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.query:
            self.analyzer.check(
                context.schema._schema,
                context.query,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
        yield


def query_limiter(limits: QueryLimits) -> Callable[[], QueryLimiter]:
    """A factory for the schema's extensions list (strawberry wants classes or factories)."""
    analyzer = Analyzer(limits)
    return lambda: QueryLimiter(analyzer)
