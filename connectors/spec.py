"""The connector spec: a department's HTTP API described as data, validated by pydantic.

Department IT writes one YAML (or JSON) file per department; nothing here executes it. The JSON Schema
that editors use is ``ConnectorSpec.model_json_schema()`` (``python -m connectors.schema`` prints it).
Secrets are never written into a spec: ``${NAME}`` / ``${NAME:-default}`` are taken from the environment
when the spec is loaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.records import Category, Channel

SLUG = r"^[a-z][a-z0-9-]{1,39}$"


class _Model(BaseModel):
    # A typo in a spec key is refused, not silently ignored: "timout_s" must not mean "no timeout".
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- auth -------------------------------------------------------------------------------------------


class NoAuth(_Model):
    kind: Literal["none"] = "none"


class ApiKeyAuth(_Model):
    kind: Literal["api_key"]
    key: SecretStr
    header: str | None = "X-Api-Key"
    query_param: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> ApiKeyAuth:
        if (self.header is None) == (self.query_param is None):
            raise ValueError("give exactly one of header or query_param")
        return self


class BasicAuth(_Model):
    kind: Literal["basic"]
    username: str
    password: SecretStr


class OAuth2ClientCredentials(_Model):
    kind: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="absolute, or a path under base_url")
    client_id: str
    client_secret: SecretStr
    scope: str | None = None
    credentials_in: Literal["body", "basic"] = "body"
    refresh_margin_s: float = Field(30.0, ge=0, description="renew this long before the token expires")


class HmacAuth(_Model):
    kind: Literal["hmac"]
    app_id: str
    secret: SecretStr
    algorithm: Literal["sha256", "sha1", "sha512"] = "sha256"
    app_id_header: str = "X-App-Id"
    timestamp_header: str = "X-Timestamp"
    signature_header: str = "X-Signature"
    string_to_sign: str = Field(
        "{method}\n{path}\n{query}\n{timestamp}",
        description="placeholders: method, path, query (sorted, url-encoded), timestamp, body_sha256",
    )


Auth = Annotated[
    NoAuth | ApiKeyAuth | BasicAuth | OAuth2ClientCredentials | HmacAuth, Field(discriminator="kind")
]


# --- wire formats -----------------------------------------------------------------------------------


class Envelope(_Model):
    """A ``{code, msg, data}`` wrapper: business failures arrive as HTTP 200 with a non-ok code."""

    code_field: str = "code"
    ok_codes: tuple[int | str, ...] = (0, "0")
    message_field: str = "msg"
    data_field: str = "data"


class JsonFormat(_Model):
    kind: Literal["json"]
    envelope: Envelope | None = None
    charset: str = "utf-8"


class Soap11(_Model):
    action: str = Field(description="the SOAPAction header value")


class XmlFormat(_Model):
    kind: Literal["xml"]
    namespaces: dict[str, str] = Field(default_factory=dict, description="prefix -> namespace URI")
    soap: Soap11 | None = None
    charset: str | None = Field(None, description="override the charset the department declares")


class CsvFormat(_Model):
    kind: Literal["csv"]
    charset: str = "utf-8"
    delimiter: str = Field(",", min_length=1, max_length=1)

    @field_validator("charset")
    @classmethod
    def _known_charset(cls, value: str) -> str:
        _check_charset(value)
        return value


Format = Annotated[JsonFormat | XmlFormat | CsvFormat, Field(discriminator="kind")]


def _check_charset(value: str) -> None:
    import codecs

    try:
        codecs.lookup(value)
    except LookupError as exc:
        raise ValueError(f"unknown charset {value!r}") from exc


# --- pagination -------------------------------------------------------------------------------------


class NoPagination(_Model):
    style: Literal["none"] = "none"


class PagePagination(_Model):
    style: Literal["page"]
    page_param: str = "page"
    size_param: str = "pageSize"
    size: int = Field(100, ge=1, le=10_000)
    first_page: int = Field(1, ge=0)
    total_path: str | None = Field(None, description="where the total count is; header:Name for a header")


class OffsetPagination(_Model):
    style: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(100, ge=1, le=10_000)
    total_path: str | None = None


class CursorPagination(_Model):
    style: Literal["cursor"]
    cursor_param: str = "cursor"
    limit_param: str | None = "limit"
    limit: int = Field(100, ge=1, le=10_000)
    next_cursor_path: str


Pagination = Annotated[
    NoPagination | PagePagination | OffsetPagination | CursorPagination, Field(discriminator="style")
]


# --- mapping onto canonical records ------------------------------------------------------------------

Convert = Literal["str", "int", "float", "fen", "yuan", "datetime", "list", "opening_hours"]
DateFormat = Literal["iso", "yyyyMMdd", "epoch_ms", "epoch_s"]


class FieldMap(_Model):
    """Where one canonical field comes from in a department's item, and how to read it."""

    path: str = Field(
        description="JSON: dotted path; CSV: column name; XML: element path, @attr for attributes"
    )
    convert: Convert = "str"
    split: str | None = Field(None, description="for lists sent as one string: the separator")
    date_format: DateFormat = "iso"
    values: dict[str, str] | None = Field(None, description="the department's vocabulary -> canonical")
    fallback: str | None = Field(None, description="canonical value for a vocabulary word not in `values`")
    default: Any = None
    optional: bool = False


def _field_map(value: Any) -> Any:
    # Shorthand: `name_zh: mingcheng` means `name_zh: {path: mingcheng}`.
    return {"path": value} if isinstance(value, str) else value


# canonical field -> the conversions that make sense for it. Fields outside REQUIRED_FIELDS may be
# left out of a mapping; they then get their default.
CAPABILITY_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "catalog": {
        "id": ("str",),
        "name_zh": ("str",),
        "name_en": ("str",),
        "description": ("str",),
        "category": ("str",),
        "channels": ("list",),
        "fee_fen": ("fen", "yuan", "int"),
        "processing_days": ("int",),
        "required_documents": ("list",),
        "updated_at": ("datetime",),
    },
    "stations": {
        "id": ("str",),
        "name": ("str",),
        "town": ("str",),
        "address": ("str",),
        "latitude": ("float",),
        "longitude": ("float",),
        "phone": ("str",),
        "opening_hours": ("opening_hours",),
        "service_ids": ("list",),
    },
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "catalog": ("id", "name_zh", "category"),
    "stations": ("id", "name", "latitude", "longitude"),
}
# Vocabulary-mapped fields must land in the canonical vocabulary.
CANONICAL_VALUES: dict[tuple[str, str], frozenset[str]] = {
    ("catalog", "category"): frozenset(c.value for c in Category),
    ("catalog", "channels"): frozenset(c.value for c in Channel),
}


class Operation(_Model):
    method: Literal["GET", "POST"] = "GET"
    path: str = Field(description="under base_url, starting with /")
    params: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(None, description="request body, e.g. a SOAP envelope")
    items: str = Field("", description="where the list of items is in the (unwrapped) response")
    pagination: Pagination = Field(default_factory=NoPagination)
    mapping: dict[str, Annotated[FieldMap, Field()]]
    cache_ttl_s: float = Field(300.0, ge=0, description="serve from cache this long without asking")
    stale_ttl_s: float = Field(86_400.0, ge=0, description="keep serving stale this long if it fails")
    public: bool = Field(True, description="public data: shared between users, may be served stale")
    max_pages: int = Field(200, ge=1, le=10_000)

    @field_validator("mapping", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: _field_map(item) for key, item in value.items()}
        return value

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value


class Policy(_Model):
    timeout_s: float = Field(3.0, gt=0, le=120, description="one attempt")
    deadline_s: float = Field(8.0, gt=0, le=300, description="the whole call, retries included")
    retries: int = Field(2, ge=0, le=10, description="extra attempts for idempotent calls")
    backoff_s: float = Field(0.05, ge=0, le=10, description="first retry delay; doubles, full jitter")
    breaker_failures: int = Field(5, ge=1, le=1000, description="consecutive failures that open the breaker")
    breaker_reset_s: float = Field(10.0, gt=0, le=3600, description="open this long, then one probe")
    concurrency: int = Field(32, ge=1, le=1024, description="requests in flight to the department")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)


class Name(_Model):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ConnectorSpec(_Model):
    id: str = Field(pattern=SLUG)
    name: Name
    base_url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    auth: Auth = Field(default_factory=NoAuth)
    format: Format
    policy: Policy = Field(default_factory=Policy)
    operations: dict[Literal["catalog", "stations"], Operation]

    @model_validator(mode="after")
    def _mappings_complete(self) -> ConnectorSpec:
        problems: list[str] = []
        for capability, operation in self.operations.items():
            allowed = CAPABILITY_FIELDS[capability]
            for name in REQUIRED_FIELDS[capability]:
                if name not in operation.mapping:
                    problems.append(f"operations.{capability}.mapping: '{name}' is required")
            for name, field_map in operation.mapping.items():
                where = f"operations.{capability}.mapping.{name}"
                if name not in allowed:
                    problems.append(f"{where}: not a field of the {capability} record ({', '.join(allowed)})")
                    continue
                if field_map.convert not in allowed[name] and not (
                    field_map.convert == "str" and allowed[name] == ("list",) and field_map.split
                ):
                    problems.append(f"{where}.convert: '{field_map.convert}' where {allowed[name]} expected")
                canonical = CANONICAL_VALUES.get((capability, name))
                if canonical and field_map.values is not None:
                    for word, target in field_map.values.items():
                        if target not in canonical:
                            problems.append(
                                f"{where}.values.{word}: '{target}' is not one of {sorted(canonical)}"
                            )
                if canonical and field_map.fallback is not None and field_map.fallback not in canonical:
                    problems.append(f"{where}.fallback: '{field_map.fallback}' is not canonical")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def capabilities(self) -> tuple[str, ...]:
        return tuple(sorted(self.operations))


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SpecVariableError(ValueError):
    pass


class SpecSyntaxError(ValueError):
    """The text is not YAML/JSON at all; says where."""


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` from ``environ``; an unset name without default fails."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise SpecVariableError(f"${{{name}}} is not set and has no default")

    return _VARIABLE.sub(replace, text)


def parse_spec(text: str, environ: Mapping[str, str] | None = None) -> ConnectorSpec:
    """Parse a YAML or JSON spec (JSON is YAML) after substituting variables; raise on any problem."""
    try:
        raw = yaml.safe_load(interpolate(text, os.environ if environ is None else environ))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise SpecSyntaxError(f"{where}{getattr(exc, 'problem', None) or 'not valid YAML'}") from exc
    if not isinstance(raw, dict):
        raise ValueError("a connector spec is a mapping at the top level")
    return ConnectorSpec.model_validate(raw)


def spec_json_schema() -> dict[str, Any]:
    return ConnectorSpec.model_json_schema()


if __name__ == "__main__":
    import json
    import sys

    json.dump(spec_json_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
