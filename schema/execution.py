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

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# (leaf type, is a list of it, the record's attribute), or None when the field takes the ordinary
# path; kept on the field
Plan = tuple[GraphQLLeafType, bool, str] | None
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
            result = (*leaf, definition.python_name)
    attributes[_PLAN] = result
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


class PlainFields(StrawberryGraphQLCoreExecutionContext):
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
                if completed is not None:
                    return completed
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


_PLAIN = frozenset({str, int, float, bool})
_SEQUENCES = frozenset({list, tuple})


def _complete(found: tuple[GraphQLLeafType, bool, str], value: Any) -> Any:
    """The serialized value, or None to let graphql-core handle it (null, errors, anything odd)."""
    leaf, many, _ = found
    kind = type(value)
    if many and kind not in _SEQUENCES:
        return None  # null, an exception, an awaitable, not a list: graphql-core's path
    if (
        not many
        and kind not in _PLAIN
        and (value is None or isinstance(value, Exception) or hasattr(value, "__await__"))
    ):
        return None
    try:
        if not many:
            coerced = leaf.coerce_output_value(value)
            return None if coerced is Undefined else coerced
        items = [leaf.coerce_output_value(item) for item in value]
    except Exception:  # a value the scalar refuses: graphql-core raises it where it belongs
        return None
    if any(item is None or item is Undefined for item in items):
        return None
    return items
