"""Arguments converted by a plan made once per argument, not by inspecting its type on every call.

strawberry's ``convert_arguments`` works the argument's type out again on every call: for each
argument and input field it asks the name converter for the GraphQL name (camel-casing it again),
resolves the annotation, checks Maybe, Optional, List, scalar, enum, lazy and input types in turn;
profiled, a tenth of a warm catalogue request went to converting ``services``' four arguments.

``compile_arguments`` makes the same conversion once per field as nested functions. It covers the
shapes strawberry converts without help (optional, list, scalar, enum, lazy, input object) and gives
up (None: strawberry's own conversion stays) on anything else: ``Maybe``, ``GlobalID``, input types
that build themselves (``from_input``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.types.arguments import StrawberryArgument, _is_leaf_type, _is_optional_leaf_type
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

Convert = Callable[[Any], Any]
Arguments = Callable[[Mapping[str, Any]], dict[str, Any]]


class Unsupported(Exception):
    """A type ``compile_arguments`` leaves to strawberry."""


def compile_arguments(
    arguments: Sequence[StrawberryArgument], scalar_registry: Mapping[object, Any], name_converter: Any
) -> Arguments | None:
    """GraphQL argument values (graphql-core's) -> the resolver's keyword arguments, as strawberry's
    ``convert_arguments`` gives them; None when a type is not one this module converts."""
    try:
        plans = [
            (
                name_converter.from_argument(a),
                a.python_name,
                _convert(a.type, scalar_registry, name_converter),
            )
            for a in arguments
        ]
    except Unsupported:
        return None

    def convert(values: Mapping[str, Any]) -> dict[str, Any]:
        return {python: to(values[name]) for name, python, to in plans if name in values}

    return convert


def _convert(type_: Any, registry: Mapping[object, Any], names: Any) -> Convert:
    if isinstance(type_, StrawberryMaybe):
        raise Unsupported("Maybe")
    if isinstance(type_, StrawberryOptional):
        return _convert(type_.of_type, registry, names)
    inner = _inner(type_, registry, names)

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if value is UNSET:
            return UNSET
        return inner(value)

    return convert


def _inner(type_: Any, registry: Mapping[object, Any], names: Any) -> Convert:
    if isinstance(type_, StrawberryList):
        item = type_.of_type
        skip = (GlobalID,)
        if _is_leaf_type(item, registry, skip_classes=skip) or _is_optional_leaf_type(item, registry, skip):
            return list  # copied: graphql-core shares a default value between requests
        each = _convert(item, registry, names)
        return lambda values: [each(value) for value in values]
    if _is_leaf_type(type_, registry):
        if type_ is GlobalID:
            raise Unsupported("GlobalID")
        return _same
    if isinstance(type_, LazyType):
        return _inner(type_.resolve_type(), registry, names)
    if has_enum_definition(type_):
        return _inner(type_.__strawberry_definition__, registry, names)
    if has_object_definition(type_):
        return _input(type_, registry, names)
    raise Unsupported(repr(type_))


def _same(value: Any) -> Any:
    return value


def _input(type_: Any, registry: Mapping[object, Any], names: Any) -> Convert:
    definition = type_.__strawberry_definition__
    if definition.from_input is not None:
        raise Unsupported("from_input")
    defaults: dict[str, Any] = {}
    if definition.is_input:
        defaults = {
            f.python_name: None
            for f in definition.fields
            if f.default_value is MISSING and f.default_factory is MISSING
        }
    fields = [
        (
            names.from_field(f),
            f.python_name,
            _convert(f.resolve_type(type_definition=definition), registry, names),
        )
        for f in definition.fields
    ]

    def build(value: Mapping[str, Any]) -> Any:
        kwargs = dict(defaults)
        for name, python, to in fields:
            if name in value:
                kwargs[python] = to(value[name])
        return type_(**kwargs)

    return build
