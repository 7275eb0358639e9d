"""Descriptions for GraphQL enum values whose Python enum lives outside the schema layer.

``connectors`` and ``access`` know no GraphQL, so their enums cannot use ``strawberry.enum_value``; the
schema module that exposes one describes its values here instead, all of them, checked at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=type[Enum])


def described_enum(cls: E, description: str, values: Mapping[str, str], name: str | None = None) -> E:
    """``strawberry.enum(cls)`` with a description on every value (a value left out is an error)."""
    strawberry.enum(cls, name=name, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    names = {value.name for value in definition.values}
    if names != set(values):
        raise ValueError(f"{cls.__name__}: describe exactly {sorted(names)}; got {sorted(values)}")
    for value in definition.values:
        value.description = values[value.name]
    return cls
