"""Plain fields completed in one step: what most of a catalogue or station answer is made of.

graphql-core resolves every field the same way: it builds a ``GraphQLResolveInfo`` (strawberry's,
with the operation's context), calls the field's resolver, checks whether the result is awaitable,
then completes the value through ``complete_value`` (non-null, list, leaf), item by item for lists.
For a field strawberry resolves by reading an attribute of the record (no resolver of ours, no
arguments, no field extension) whose type is a scalar or an enum, or a list of them, all of that
comes down to ``getattr`` and ``coerce_output_value``: profiled on the warm catalogue, the info
objects and completion steps of such fields were a third of the request's CPU.

``PlainFields`` does exactly that for them and hands everything else, and every unusual value (null,
an exception, an awaitable, a value the scalar refuses), to graphql-core's ordinary path, so errors,
paths and null handling are graphql-core's own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

from schema.arguments import compile_arguments
from schema.limits import LRU

# (the leaf type's coerce_output_value, is a list of it, the record's attribute, may be null, the
# Python type served as it is: str for a String or ID, bool for a Boolean, else None), or None when the
# field takes the ordinary path; kept on the field
Coerce = Callable[[Any], Any]
Plan = tuple[Coerce, bool, str, bool, type | None] | None


@dataclass(frozen=True, slots=True)
class Objects:
    """A plain attribute holding an object (or a list of non-null objects) of a type with no
    ``is_type_of``: completed by running its fields straight away."""

    object_type: GraphQLObjectType
    many: bool
    attribute: str
    nullable: bool
    return_type: GraphQLOutputType
    item_type: GraphQLOutputType | None  # the list's item type (non-null), when ``many``


@dataclass(frozen=True, slots=True)
class Called:
    """A field with a direct resolver (``direct_resolvers``): called by ``PlainFields`` itself, its
    arguments taken from the document's plan when it has one. When the resolver is a plain function
    without arguments giving an object of a type with no ``is_type_of`` (a service's department), that
    object's fields run straight away, without graphql-core's ``complete_value`` dispatch."""

    field: GraphQLField
    object_type: GraphQLObjectType | None
    nullable: bool


Step = tuple[str, Any, Plan, Objects | None, Called | None]  # name, graphql-core's details, plans
_OBJECTS = "_onestop_objects"
_CALLED = "_onestop_called"
_SYNC = "_onestop_sync"  # set on a direct resolver that is a plain function (returns no awaitable)
ORDINARY: Any = object()  # what ``_complete`` gives for a value graphql-core must complete itself
_PLAN = "_onestop_plan"


def plan(field: GraphQLField) -> Plan:
    """Whether ``field`` is a plain attribute of a leaf type (or a non-null list of non-null leaves)."""
    attributes = field.__dict__
    if _PLAN in attributes:
        known: Plan = attributes[_PLAN]
        return known
    result: Plan = None
    resolve = field.resolve
    definition = (field.extensions or {}).get("strawberry-definition")
    if (
        resolve is not None
        and is_default_resolver(resolve)  # strawberry's own: the attribute, no resolver
        and not field.args
        and definition is not None
        and getattr(definition, "default_resolver", None) is getattr
    ):
        leaf = _leaf(field.type)
        if leaf is not None:
            nullable = not isinstance(field.type, GraphQLNonNull)
            same = None if leaf[1] else _same(leaf[0])
            result = (coercer(leaf[0]), leaf[1], definition.python_name, nullable, same)
    attributes[_PLAN] = result
    return result


def _same(leaf: GraphQLLeafType) -> type | None:
    """The Python type graphql-core's own scalar gives back unchanged (served without a call): an
    ``int`` only within 32 bits (``execute_fields`` checks)."""
    if leaf is GraphQLString or leaf is GraphQLID:
        return str
    if leaf is GraphQLInt:
        return int
    return bool if leaf is GraphQLBoolean else None


def coercer(leaf: GraphQLLeafType) -> Coerce:
    """``leaf.coerce_output_value``, with the values records hold answered without its checks: a
    ``str`` as a String or ID, an ``int`` within 32 bits as an Int, a ``bool`` as a Boolean, and a
    member of a strawberry enum by its name (strawberry's enum type looks for it value by value)."""
    general = leaf.coerce_output_value
    if leaf is GraphQLString or leaf is GraphQLID:
        return lambda value: value if type(value) is str else general(value)
    if leaf is GraphQLBoolean:
        return lambda value: value if type(value) is bool else general(value)
    if leaf is GraphQLInt:
        return lambda value: (
            value if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT else general(value)
        )
    members = getattr(leaf, "wrapped_cls", None)
    if isinstance(leaf, GraphQLEnumType) and isinstance(members, type) and issubclass(members, Enum):
        names = _names(members, general)
        return lambda value: (names.get(value) if type(value) is members else None) or general(value)
    return general


def _names(members: type[Enum], general: Coerce) -> dict[Any, str]:
    """Each member's GraphQL name as strawberry gives it, found once; members it refuses are left out."""
    names: dict[Any, str] = {}
    for member in members:
        try:
            names[member] = general(member)
        except Exception:  # noqa: S112 - not a value of the GraphQL enum: graphql-core will say so
            continue
    return names


def objects(field: GraphQLField) -> Objects | None:
    """Whether ``field`` is a plain attribute holding an object, or a list of non-null objects."""
    attributes = field.__dict__
    if _OBJECTS in attributes:
        known: Objects | None = attributes[_OBJECTS]
        return known
    result: Objects | None = None
    definition = (field.extensions or {}).get("strawberry-definition")
    if (
        field.resolve is not None
        and is_default_resolver(field.resolve)
        and not field.args
        and definition is not None
        and getattr(definition, "default_resolver", None) is getattr
    ):
        nullable = not isinstance(field.type, GraphQLNonNull)
        inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        item = inner.of_type if isinstance(inner, GraphQLList) else None
        target = item.of_type if isinstance(item, GraphQLNonNull) else None if item is not None else inner
        if isinstance(target, GraphQLObjectType) and target.is_type_of is None:
            result = Objects(target, item is not None, definition.python_name, nullable, field.type, item)
    attributes[_OBJECTS] = result
    return result


def called(field: GraphQLField) -> Called | None:
    """Whether ``field`` has a direct resolver; with the object type to complete at once when it is a
    plain function without arguments giving an object."""
    attributes = field.__dict__
    if _CALLED in attributes:
        known: Called | None = attributes[_CALLED]
        return known
    result: Called | None = None
    sync = getattr(field.resolve, _SYNC, None)
    if sync is not None:
        nullable = not isinstance(field.type, GraphQLNonNull)
        target = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        at_once = (
            isinstance(target, GraphQLObjectType) and target.is_type_of is None and sync and not field.args
        )
        result = Called(
            field, target if at_once and isinstance(target, GraphQLObjectType) else None, nullable
        )
    attributes[_CALLED] = result
    return result


def _leaf(type_: GraphQLOutputType) -> tuple[GraphQLLeafType, bool] | None:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if is_leaf_type(type_):
        return type_, False
    if isinstance(type_, GraphQLList):
        item = type_.of_type
        if isinstance(item, GraphQLNonNull) and is_leaf_type(item.of_type):
            return item.of_type, True
    return None


def direct_resolvers(schema: Any) -> int:
    """Give plain resolvers a direct call; how many were changed.

    For every resolver strawberry converts the arguments by inspecting their types again, looks up the
    resolver's parameters, builds closures and folds (no) field extensions on every call, about ten
    calls deep, to end in ``resolver(source, info=Info(...), **arguments)``. Here the field's
    ``resolve`` makes that last call itself, arguments converted by a plan made once
    (``schema/arguments.py``). Only where nothing else can happen: no field extensions (permissions
    are one), no exception handlers in the schema, strawberry's own field and resolver classes, a
    function (or coroutine function) taking ``self``, ``info`` and the field's arguments, argument
    types the plan covers. graphql-core still calls it as before, through the schema's middleware if
    there is any.
    """
    converter = schema.schema_converter
    if getattr(converter, "_exception_handler_specs", True):  # handlers (or an unknown strawberry)
        return 0
    info_class = schema.config.info_class
    registry, names = converter.scalar_registry, schema.config.name_converter
    changed = 0
    for named in schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            direct = _direct(field, info_class, registry, names)
            if direct is not None:
                field.resolve = direct
                changed += 1
    return changed


def _direct(field: GraphQLField, info_class: Any, registry: Any, names: Any) -> Callable[..., Any] | None:
    definition = (field.extensions or {}).get("strawberry-definition")
    if not isinstance(definition, StrawberryField) or field.resolve is None:
        return None
    resolver = definition.base_resolver
    if (
        type(definition).get_result is not StrawberryField.get_result
        or definition.extensions
        or definition.is_subscription
        or not isinstance(resolver, StrawberryResolver)
        or type(resolver).__call__ is not StrawberryResolver.__call__
        or not callable(resolver.wrapped_func)
        or (resolver.is_async and not inspect.iscoroutinefunction(resolver.wrapped_func))
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or len(resolver.signature.parameters)
        != (resolver.self_parameter is not None)
        + (resolver.info_parameter is not None)
        + len(resolver.arguments)
    ):
        return None
    convert = compile_arguments(definition.arguments, registry, names)
    if convert is None:
        return None
    call = resolver.wrapped_func
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    with_self = resolver.self_parameter is not None

    def resolve(source: Any, info: Any, **values: Any) -> Any:
        kwargs = convert(values)
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=definition)
        return call(source, **kwargs) if with_self else call(**kwargs)

    setattr(resolve, _SYNC, not resolver.is_async)
    return resolve


class DocumentPlan:
    """What graphql-core collects for one operation of one parsed document, kept across requests.

    graphql-core collects the root fields and, per object, its sub-fields (fragments spread,
    ``@skip``/``@include`` applied, aliases grouped) again in every request, and strawberry's
    ``ParserCache`` hands every request with the same text the same document. An operation without
    variables (its fragments without arguments either) always collects the same fields, so the root
    set is kept here and the sub-fields found under it by the identity of its (kept) field lists, as
    graphql-core memoizes them within one request. Nothing is kept once ``@defer`` shows up: its
    usages are one execution's. The argument values of its fields are kept too (``_arguments``).
    Bounded: ``MAX_ENTRIES`` collections.
    """

    MAX_ENTRIES = 256
    __slots__ = ("arguments", "collected", "operation", "root", "schema", "steps")

    def __init__(self, operation: Any, schema: Any) -> None:
        self.operation = operation
        self.schema = schema
        self.root: tuple[GraphQLObjectType, Any] | None = None
        self.collected: dict[tuple[GraphQLObjectType, int], tuple[Any, Any]] | None = {}
        self.steps: dict[tuple[int, int], tuple[Any, list[Step]]] = {}
        self.arguments: dict[tuple[int, int], tuple[Any, GraphQLField, dict[str, Any]]] = {}

    def close(self) -> None:
        """Keep nothing more (deferred fields): every request collects for itself."""
        self.root, self.collected = None, None
        self.steps.clear()
        self.arguments.clear()


_plans: LRU = LRU(512)  # (id(operation), id(schema)) -> DocumentPlan; entries keep both alive


def document_plan(operation: Any, schema: Any, fragments: dict[str, Any]) -> DocumentPlan | None:
    """The kept plan of ``operation``, or None when what it collects may change between requests."""
    if operation.variable_definitions or any(f.variable_signatures for f in fragments.values()):
        return None
    key = (id(operation), id(schema))
    kept: DocumentPlan | None = _plans.get(key)
    if kept is not None and kept.operation is operation and kept.schema is schema:
        _plans.move_to_end(key)
        return kept
    made: DocumentPlan = _plans.remember(key, DocumentPlan(operation, schema))
    return made


class PlainFields(StrawberryGraphQLCoreExecutionContext):
    _onestop_steps: dict[tuple[int, int], tuple[Any, list[Step]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._onestop_plan = document_plan(self.operation, self.schema, self.fragments)
        kept = self._onestop_plan
        self._onestop_steps = kept.steps if kept is not None and kept.collected is not None else {}

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: Any,
        serially: bool,
        new_defer_usages: Any,
    ) -> Any:
        """The kept root field set in place of the one just collected (equal to it), so that every
        field list below it, and so every collection, is the kept one."""
        plan = self._onestop_plan
        if plan is not None and new_defer_usages:
            plan.close()
        elif plan is not None and plan.collected is not None:
            if plan.root is None or plan.root[0] is not root_type:
                plan.root = (root_type, grouped_field_set)
            grouped_field_set = plan.root[1]
        return super().execute_collected_root_fields(
            root_type, root_value, grouped_field_set, serially, new_defer_usages
        )

    def collect_subfields(self, return_type: GraphQLObjectType, field_details_list: Any) -> Any:
        """graphql-core's memoized collection, kept in the document's plan across requests."""
        plan = self._onestop_plan
        collected_before = None if plan is None else plan.collected
        if collected_before is None:
            return super().collect_subfields(return_type, field_details_list)
        key = (return_type, id(field_details_list))
        kept = collected_before.get(key)
        if kept is not None and kept[0] is field_details_list:
            return kept[1]
        collected = super().collect_subfields(return_type, field_details_list)
        if collected[1]:
            plan.close()  # type: ignore[union-attr]
        elif len(collected_before) < DocumentPlan.MAX_ENTRIES:
            collected_before[key] = (field_details_list, collected)
        return collected

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's loop over an object's fields, with plain fields completed inline: no path,
        no call down to ``execute_field``, no awaitable check for a value that cannot be one. Any
        other field, or a plain one whose value is unusual, takes graphql-core's own step, in order."""
        middleware = self.middleware_manager
        if middleware is not None and middleware.middlewares:  # an extension's `resolve` sees every field
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            steps = self._steps(parent_type, grouped_field_set)
            for response_name, field_details_list, found, held, call in steps:
                if found is not None:
                    value: Any = getattr(source_value, found[2], None)
                    kind = type(value)
                    if kind is found[4] and (kind is not int or GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT):
                        results[response_name] = value  # a str for a String, a 32-bit int for an Int
                        continue
                    if value is None and found[3]:
                        results[response_name] = None
                        continue
                    completed = _complete(found, value)
                    if completed is not ORDINARY:
                        results[response_name] = completed
                        continue
                field_path = Path(path, response_name, parent_type.name)
                result = ORDINARY
                if held is not None and position_context is None:
                    result = self._objects(held, source_value, field_details_list, field_path)
                elif call is not None and position_context is None:
                    result = self._called(call, parent_type, source_value, field_details_list, field_path)
                if result is ORDINARY:
                    result = super().execute_field(
                        parent_type, source_value, field_details_list, field_path, position_context
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:  # as graphql-core: settle what other fields started, they may fail too
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._awaited(results, awaitable_fields)

    def _steps(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[Step]:
        """Each field of the set with its plan, worked out once per request (once per document when
        its plan is kept): the items of a list share one field set (graphql-core keeps it, and so its
        identity, for the whole execution)."""
        known = self._onestop_steps
        key = (id(parent_type), id(grouped_field_set))
        kept = known.get(key)
        if kept is not None and kept[0] is grouped_field_set:
            return kept[1]
        fields = parent_type.fields
        steps: list[Step] = []
        for response_name, field_details_list in grouped_field_set.items():
            field = fields.get(field_details_list[0].node.name.value)
            if field is None:
                steps.append((response_name, field_details_list, None, None, None))
            elif any(d.node.directives for d in field_details_list):  # @stream and the like: graphql-core's
                steps.append((response_name, field_details_list, plan(field), None, None))
            else:
                steps.append((response_name, field_details_list, plan(field), objects(field), called(field)))
        if len(known) < DocumentPlan.MAX_ENTRIES:
            known[key] = (grouped_field_set, steps)
        return steps

    def _objects(self, held: Objects, source: Any, field_details_list: Any, path: Path) -> Any:
        """graphql-core's ``execute_field`` and ``complete_value`` for a plain object (or list of
        them): the object's fields run at once, errors handled by graphql-core's ``handle_field_error``
        as there. ``ORDINARY`` (nothing run yet) for anything else: null where it may not be, a value
        that is an error or awaitable, a list item that is one (a field with directives, ``@stream``,
        never comes here: ``_steps``)."""
        value = getattr(source, held.attribute, ORDINARY)
        if value is None:
            return None if held.nullable else ORDINARY
        if value is ORDINARY or _unusual(value):
            return ORDINARY
        if held.many and (type(value) not in _SEQUENCES or any(_unusual(i) or i is None for i in value)):
            return ORDINARY
        collected = self.collect_subfields(held.object_type, field_details_list)
        grouped_field_set, new_defer_usages = collected[0], collected[1]
        if new_defer_usages:
            return ORDINARY
        try:
            if held.many:
                completed = self._items(held, value, field_details_list, path, grouped_field_set)
            else:
                completed = self.execute_fields(held.object_type, value, path, grouped_field_set, None)
            if self.is_awaitable(completed):
                return self._guarded(completed, held.return_type, field_details_list, path)
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, held.return_type, field_details_list, path)
            return None

    def _called(
        self, call: Called, parent_type: GraphQLObjectType, source: Any, field_details_list: Any, path: Path
    ) -> Any:
        """graphql-core's ``execute_field`` for a ``Called`` field (no middleware: ``execute_fields``
        checked): the resolver called once with the field's arguments, a usual object completed at
        once; anything else (null where it may not be, an error, an awaitable, ``@defer`` below)
        completed by graphql-core's ``complete_value`` as there. A field with directives never comes
        here (``_steps``)."""
        field = call.field
        return_type = field.type
        info = self.build_resolve_info(field, [d.node for d in field_details_list], parent_type, path)
        try:
            node = field_details_list[0].node
            arguments = self._arguments(field, field_details_list) if field.args or node.arguments else {}
            value = field.resolve(source, info, **arguments)  # type: ignore[misc]
            if call.object_type is None:
                pass
            elif value is None and call.nullable:
                return None
            elif value is not None and not _unusual(value):
                collected = self.collect_subfields(call.object_type, field_details_list)
                if not collected[1]:
                    completed = self.execute_fields(call.object_type, value, path, collected[0], None)
                    if self.is_awaitable(completed):
                        return self._guarded(completed, return_type, field_details_list, path)
                    return completed
            if self.is_awaitable(value):
                return self.complete_awaitable_value(return_type, field_details_list, info, path, value, None)
            completed = self.complete_value(return_type, field_details_list, info, path, value, None)
            if self.is_awaitable(completed):
                return self._guarded(completed, return_type, field_details_list, path)
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def _arguments(self, field: GraphQLField, field_details_list: Any) -> dict[str, Any]:
        """graphql-core's ``get_argument_values``, kept in the document's plan when it has one: with
        no variables they depend on the document alone (a direct resolver's conversion copies lists
        and builds its own input objects, so no request changes what the next one gets)."""
        details = field_details_list[0]
        plan = self._onestop_plan
        if plan is None or plan.collected is None or details.fragment_variable_values is not None:
            return get_argument_values(
                field,
                details.node,
                self.variable_values,
                details.fragment_variable_values,
                self.hide_suggestions,
            )
        key = (id(field), id(details.node))
        kept = plan.arguments.get(key)
        if kept is not None and kept[0] is details.node and kept[1] is field:
            return kept[2]
        values = get_argument_values(field, details.node, self.variable_values, None, self.hide_suggestions)
        if len(plan.arguments) < DocumentPlan.MAX_ENTRIES:
            plan.arguments[key] = (details.node, field, values)
        return values

    def _items(
        self, held: Objects, items: Any, field_details_list: Any, path: Path, grouped_field_set: Any
    ) -> Any:
        """graphql-core's ``complete_iterable_value`` for items that are all objects (no @stream)."""
        is_awaitable = self.is_awaitable
        item_type = held.item_type
        assert item_type is not None
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                try:
                    one = self.execute_fields(held.object_type, item, item_path, grouped_field_set, None)
                    if is_awaitable(one):
                        completed.append(self._guarded(one, item_type, field_details_list, item_path))
                        awaitable_indices.append(index)
                    else:
                        completed.append(one)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    completed.append(None)
        except Exception:
            if awaitable_indices:  # as graphql-core: what the other items started may fail too
                self.settle_in_background([completed[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return self._awaited_items(completed, awaitable_indices)

    async def _awaited_items(self, completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
        if len(awaitable_indices) == 1:
            index = awaitable_indices[0]
            completed[index] = await completed[index]
            return completed
        awaited = await gather_with_cancel(*(completed[i] for i in awaitable_indices))
        for index, value in zip(awaitable_indices, awaited, strict=True):
            completed[index] = value
        return completed

    async def _guarded(
        self, completed: Any, return_type: GraphQLOutputType, field_details_list: Any, path: Path
    ) -> Any:
        """graphql-core's ``await_completed``: an error while awaiting is this field's (or item's)."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    async def _awaited(self, results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
        """graphql-core's ``get_results``: one awaitable awaited alone, several together."""
        if len(awaitable_fields) == 1:
            name = awaitable_fields[0]
            results[name] = await results[name]
            return results
        awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
        return results

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        middleware = self.middleware_manager
        if middleware is None or not middleware.middlewares:  # an extension's `resolve` sees every field
            field = parent_type.fields.get(field_details_list[0].node.name.value)
            found = None if field is None else plan(field)
            if found is not None and field is not None:
                completed = _complete(found, getattr(source, found[2], None))
                if completed is not ORDINARY:
                    return completed
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def _unusual(value: Any) -> bool:
    return isinstance(value, Exception) or hasattr(value, "__await__")


_PLAIN = frozenset({str, int, float, bool})
_SEQUENCES = frozenset({list, tuple})


def _complete(found: tuple[Coerce, bool, str, bool, type | None], value: Any) -> Any:
    """The serialized value, or ``ORDINARY`` to let graphql-core handle it (errors, anything odd)."""
    coerce, many, _, nullable, _ = found
    if value is None:
        return None if nullable else ORDINARY  # null where null may be; else graphql-core's error
    kind = type(value)
    if many and kind not in _SEQUENCES:
        return ORDINARY  # an exception, an awaitable, not a list: graphql-core's path
    if not many and kind not in _PLAIN and (isinstance(value, Exception) or hasattr(value, "__await__")):
        return ORDINARY
    try:
        if not many:
            coerced = coerce(value)
            return ORDINARY if coerced is None or coerced is Undefined else coerced
        items = [coerce(item) for item in value]
    except Exception:  # a value the scalar refuses: graphql-core raises it where it belongs
        return ORDINARY
    if any(item is None or item is Undefined for item in items):
        return ORDINARY
    return items
