"""Builders for the OpenAPI 3 descriptions the JSON departments publish.

Each department describes its own routes, but the fragments — object schemas, query parameters, the
criterion schema, `pageNo`/`pageSize` paging, security schemes — were written by hand a dozen times;
they live here so a description reads as what is particular to its department.  Everything returns
fresh plain dicts, in the key order the departments have always served (the JSON is compared as text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

Schema = dict[str, Any]

#: The OpenAPI schema of one `{fact, op, value, text}` criterion.
CRITERION_SCHEMA: Schema = {
    "type": "object",
    "required": ["fact", "op", "value", "text"],
    "properties": {
        "fact": {"type": "string", "description": "canonical fact: age, hukou_district, income_band, ..."},
        "op": {"type": "string", "enum": ["==", "!=", ">=", "<=", "in"]},
        "value": {
            "description": "an integer, a boolean, a string, or a list of strings for 'in'",
            "oneOf": [
                {"type": "integer"},
                {"type": "boolean"},
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
            ],
        },
        "text": {"type": "string", "description": "the condition in Chinese"},
    },
}

#: HTTP Basic, as a security scheme.
BASIC_SCHEME: Schema = {"type": "http", "scheme": "basic"}


def object_schema(properties: dict[str, Schema], optional: Iterable[str] = ()) -> Schema:
    """An object schema whose properties are all required except `optional`."""
    skip = set(optional)
    return {"type": "object", "required": [p for p in properties if p not in skip], "properties": properties}


def loose_criterion_schema() -> Schema:
    """The criterion schema of the departments that describe `value` in words instead of `oneOf`."""
    string = {"type": "string"}
    return object_schema(
        {
            "fact": string,
            "op": {"type": "string", "enum": ["==", "!=", ">=", "<=", "in"]},
            "value": {"description": "integer, boolean, string or list of strings"},
            "text": string,
        }
    )


def query_param(
    name: str, schema: Schema, description: str | None = None, required: bool = False, *, where: str = "query"
) -> Schema:
    """A query parameter (or, with `where`, a path or header one), described if `description` is given."""
    param: Schema = {"name": name, "in": where, "required": required, "schema": schema}
    if description is not None:
        param["description"] = description
    return param


def json_content(schema: Schema) -> Schema:
    """A `content` map holding `schema` as `application/json`."""
    return {"application/json": {"schema": schema}}


def string(description: str) -> Schema:
    return {"type": "string", "description": description}


def integer(description: str) -> Schema:
    return {"type": "integer", "description": description}


def string_list(description: str) -> Schema:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def ref(name: str) -> dict[str, str]:
    """A reference to `#/components/schemas/<name>`."""
    return {"$ref": f"#/components/schemas/{name}"}


def page_no_params(max_page_size: int, default_page_size: int) -> list[Schema]:
    """The `pageNo` (from 1) and `pageSize` parameters of the vendor that built several systems here."""
    return [
        query_param("pageNo", {"type": "integer", "minimum": 1, "default": 1}, "页码，从1开始"),
        query_param(
            "pageSize",
            {"type": "integer", "minimum": 1, "maximum": max_page_size, "default": default_page_size},
            "每页条数",
        ),
    ]


def api_key_scheme(name: str, where: str = "header") -> Schema:
    """An API key sent in header (or query parameter) `name`."""
    return {"type": "apiKey", "in": where, "name": name}


def oauth2_scheme(token_url: str) -> Schema:
    """OAuth2 client credentials with no scopes, tokens from `token_url`."""
    return {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {}}}}


def served(description: Schema) -> Handler:
    """A handler answering with `description` as JSON, rendered once (it never changes at run time)."""
    text = json.dumps(description, ensure_ascii=False)

    async def describe(_request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, content_type="application/json", charset="utf-8")

    return describe
