"""The connector spec reference (``docs/spec-reference.md``), written from the spec's JSON Schema.

Generated, never edited by hand: ``python -m connectors.spec_reference > docs/spec-reference.md``. A test
regenerates it and compares, so the reference cannot drift from what the gateway accepts.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.spec import spec_json_schema

HEADER = """# Connector spec reference

Generated from the spec's JSON Schema by `python -m connectors.spec_reference > docs/spec-reference.md`
(`onestop connector schema` prints the schema itself, for editors). Do not edit by hand. The guide to
writing a spec is [onboarding.md](onboarding.md).

Every section refuses keys it does not define (a typo is an error, not silently ignored). Any value may
use `${NAME}` or `${NAME:-default}`, taken from the gateway's environment when the spec is loaded;
specs are stored with the variables unexpanded, so secrets stay out of the database.
"""


def reference(schema: dict[str, Any] | None = None) -> str:
    schema = schema or spec_json_schema()
    definitions: dict[str, Any] = schema.get("$defs", {})
    parts = [HEADER, _section("ConnectorSpec (the top level)", schema)]
    parts.extend(_section(name, definitions[name]) for name in _order(schema, definitions))
    return "\n".join(parts)


def _order(schema: dict[str, Any], definitions: dict[str, Any]) -> list[str]:
    """Sections in the order a reader meets them: breadth-first from the top level."""
    seen: list[str] = []
    queue = [{key: value for key, value in schema.items() if key != "$defs"}]
    while queue:
        for ref in _refs(queue.pop(0)):
            if ref not in seen and ref in definitions:
                seen.append(ref)
                queue.append(definitions[ref])
    return seen + sorted(set(definitions) - set(seen))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else []
        for key, value in node.items():
            if key != "$ref":
                found.extend(_refs(value))
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _section(title: str, definition: dict[str, Any]) -> str:
    lines = [f"## {title}", ""]
    description = definition.get("description")
    if description:
        lines += [" ".join(description.split()), ""]
    properties: dict[str, Any] = definition.get("properties", {})
    required = set(definition.get("required", ()))
    lines += ["| key | type | required | default | meaning |", "|---|---|---|---|---|"]
    for key, prop in properties.items():
        default = "" if "default" not in prop else f"`{json.dumps(prop['default'], ensure_ascii=False)}`"
        meaning = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        mark = "yes" if key in required else ""
        lines.append(f"| `{key}` | {_type(prop)} | {mark} | {default} | {meaning} |")
    return "\n".join(lines) + "\n"


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{value}`" for value in prop["enum"])
    for union in ("oneOf", "anyOf"):
        if union in prop:
            text = " or ".join(_type(option) for option in prop[union])
            by = prop.get("discriminator", {}).get("propertyName")
            return f"{text} (by `{by}`)" if by else text
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object":
        values = prop.get("additionalProperties")
        keys = prop.get("propertyNames", {}).get("enum")
        key_text = " \\| ".join(f"`{k}`" for k in keys) if keys else "name"
        return f"map of {key_text} → {_type(values)}" if isinstance(values, dict) else "map"
    if kind == "null":
        return "null"
    return str(kind or "any") + _bounds(prop)


def _bounds(prop: dict[str, Any]) -> str:
    """Constraints a value must meet, as the schema states them."""
    said = [
        f"{symbol} {prop[key]}"
        for key, symbol in (
            ("exclusiveMinimum", ">"),
            ("minimum", "≥"),
            ("exclusiveMaximum", "<"),
            ("maximum", "≤"),
            ("minLength", "length ≥"),
            ("maxLength", "length ≤"),
        )
        if key in prop
    ]
    if "pattern" in prop:
        said.append(f"matching `{prop['pattern']}`")
    return f" ({', '.join(said)})" if said else ""


if __name__ == "__main__":
    print(reference(), end="")
