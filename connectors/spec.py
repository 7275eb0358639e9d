"""The connector spec: a department's HTTP API described as data, validated by pydantic.

Department IT writes one YAML (or JSON) file per department; nothing here executes it. The JSON Schema
that editors use is ``ConnectorSpec.model_json_schema()`` (``python -m connectors.schema`` prints it).
Secrets are never written into a spec: ``${NAME}`` / ``${NAME:-default}`` are taken from the environment
when the spec is loaded.
"""

from __future__ import annotations

import codecs
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

import jmespath
import jmespath.exceptions
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from domain.records import CRITERION_FACTS, CRITERION_OPS, RESIDENT_ID, CaseStatus, Category, Channel

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


class TokenSend(_Model):
    """Where the token goes on every call: a header (``prefix`` before it) or a query parameter."""

    header: str | None = Field(None, description="default Authorization, unless query_param is given")
    prefix: str = Field("Bearer ", description="before the token in the header, e.g. 'Bearer ' or ''")
    query_param: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> TokenSend:
        if self.header is not None and self.query_param is not None:
            raise ValueError("give header or query_param, not both")
        return self


class TokenLoginAuth(_Model):
    """A home-made login: one request answers a token (and maybe its lifetime), sent on every call.

    ``body`` is written as data; each string in it may hold ``{name}`` for a value of ``secrets``
    (which must come from ``${VARIABLES}``). The token lives in memory only: renewed ``refresh_margin_s``
    before it expires, and once when a call is refused (HTTP 401, or an envelope code in
    ``expired_codes``); concurrent calls wait for one login.
    """

    kind: Literal["token_login"]
    method: Literal["POST", "GET"] = "POST"
    path: str = Field(description="the login endpoint: a path under base_url (or under base_path's host)")
    body_format: Literal["json", "form"] = "json"
    body: dict[str, Any] = Field(default_factory=dict, description="the login body; strings may hold {name}")
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description="name -> ${VARIABLE}")
    token_path: str = Field(description="dotted path of the token in the login answer")
    expires_in_path: str | None = Field(None, description="dotted path of its lifetime in seconds")
    expires_at_path: str | None = Field(None, description="or of its expiry, epoch seconds or ISO 8601")
    lifetime_s: float = Field(3600.0, gt=0, description="lifetime when the answer does not say")
    refresh_margin_s: float = Field(60.0, ge=0, description="renew this long before the token expires")
    send: TokenSend = Field(default_factory=TokenSend)
    ok_path: str | None = Field(None, description="a login envelope's code, e.g. code (ok: ok_codes)")
    ok_codes: tuple[bool | int | str, ...] = (0, "0", 200, "200")
    expired_codes: tuple[int | str, ...] = Field(
        (), description="envelope codes of a data call meaning 'token expired': log in again, once"
    )

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @model_validator(mode="after")
    def _known_placeholders(self) -> TokenLoginAuth:
        unknown = sorted(set(PLACEHOLDER.findall(str(self.body))) - set(self.secrets))
        if unknown:
            raise ValueError(f"body uses {', '.join(unknown)} which secrets does not define")
        return self


class SignedAuth(_Model):
    """Signed requests as government open platforms sign them: the app key, a timestamp and a nonce
    are added to each call, and a digest of ``string_to_sign`` with the app secret is sent with it.

    ``string_to_sign`` placeholders: ``{params}`` (every query parameter, the added ones included,
    sorted by name, ``name=value`` joined by ``&``; ``pair_separator``/``param_separator`` change that),
    ``{body}`` (the request body as sent), ``{body_md5}``, ``{body_sha256}``, ``{timestamp}``, ``{nonce}``,
    ``{app_key}``, ``{secret}``, ``{method}``, ``{path}``. ``hmac_sha256`` keys the digest with the secret.
    """

    kind: Literal["signed"]
    app_key: str
    secret: SecretStr
    algorithm: Literal["md5", "sha256", "hmac_sha256"] = "md5"
    string_to_sign: str = "{params}&key={secret}"
    in_: Literal["query", "header"] = Field("query", alias="in", description="where the added values go")
    app_key_name: str = "appKey"
    timestamp_name: str = "timestamp"
    timestamp_unit: Literal["s", "ms"] = "ms"
    nonce_name: str | None = "nonce"
    signature_name: str = "sign"
    case: Literal["upper", "lower"] = "upper"
    pair_separator: str = "="
    param_separator: str = "&"
    skip_empty: bool = Field(True, description="leave parameters with empty values out of {params}")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("string_to_sign")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        unknown = sorted(set(PLACEHOLDER.findall(value)) - SIGN_PLACEHOLDERS)
        if unknown:
            raise ValueError(
                f"unknown placeholder {', '.join(unknown)} (known: {', '.join(sorted(SIGN_PLACEHOLDERS))})"
            )
        return value


SIGN_PLACEHOLDERS = frozenset(
    {"params", "body", "body_md5", "body_sha256", "timestamp", "nonce", "app_key", "secret", "method", "path"}
)
# a {name} placeholder: what the checks here accept is what auth.py fills
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


Auth = Annotated[
    NoAuth | ApiKeyAuth | BasicAuth | OAuth2ClientCredentials | HmacAuth | TokenLoginAuth | SignedAuth,
    Field(discriminator="kind"),
]


# --- wire formats -----------------------------------------------------------------------------------


class Envelope(_Model):
    """A ``{code, msg, data}`` wrapper: business failures arrive as HTTP 200 with a non-ok code."""

    code_field: str = "code"
    ok_codes: tuple[bool | int | str, ...] = (0, "0")
    message_field: str = "msg"
    data_field: str = "data"

    def is_ok(self, code: object) -> bool:
        """Departments send 0 or "0", true or "true": the code matches as itself or as text."""
        return code in self.ok_codes or str(code).lower() in {str(c).lower() for c in self.ok_codes}


def _check_charset(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError as exc:
        raise ValueError(f"unknown charset {value!r}") from exc
    return value


# Every format may declare a charset; a name Python cannot decode is refused when the spec is read,
# not when the first answer arrives.
Charset = Annotated[str, AfterValidator(_check_charset)]


CHARSET_HELP = "force a charset; by default the answer's own (BOM, Content-Type, XML prolog), else UTF-8"


class JsonFormat(_Model):
    kind: Literal["json"]
    envelope: Envelope | None = None
    charset: Charset | None = Field(None, description=CHARSET_HELP)


class Soap11(_Model):
    action: str = Field(description="the SOAPAction header value")


class XmlFormat(_Model):
    kind: Literal["xml"]
    namespaces: dict[str, str] = Field(default_factory=dict, description="prefix -> namespace URI")
    soap: Soap11 | None = None
    charset: Charset | None = Field(None, description=CHARSET_HELP)


class CsvFormat(_Model):
    kind: Literal["csv"]
    charset: Charset | None = Field(None, description=CHARSET_HELP)
    delimiter: str = Field(",", min_length=1, max_length=1)


class GraphqlFormat(_Model):
    """A department that already speaks GraphQL: each operation POSTs its ``document`` with
    ``variables``; ``items`` and paging paths are read under ``data``. An answer with ``errors`` is a
    typed failure: ``auth_error_codes`` (``errors[].extensions.code``) mean refused credentials,
    ``unavailable_codes`` the department's trouble, anything else a bad answer."""

    kind: Literal["graphql"]
    charset: Charset | None = Field(None, description=CHARSET_HELP)
    auth_error_codes: tuple[str, ...] = ("UNAUTHENTICATED", "FORBIDDEN")
    unavailable_codes: tuple[str, ...] = ("INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT")


Format = Annotated[JsonFormat | XmlFormat | CsvFormat | GraphqlFormat, Field(discriminator="kind")]


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


class NextLinkPagination(_Model):
    """Each page says where the next one is: a path in the answer, or the ``Link`` header's
    ``rel="next"`` (``next_path: header:Link``). An absolute path or a full URL on the same host;
    anything else, or a link seen twice, is an error."""

    style: Literal["next_link"]
    next_path: str = Field(description="dotted path of the next page's link, or header:Link")


Pagination = Annotated[
    NoPagination | PagePagination | OffsetPagination | CursorPagination | NextLinkPagination,
    Field(discriminator="style"),
]


# --- mapping onto canonical records ------------------------------------------------------------------

Convert = Literal[
    "str",
    "int",
    "float",
    "bool",
    "fen",
    "yuan",
    "date",
    "datetime",
    "list",
    "opening_hours",
    "records",
    "value",
    "money",
    "duration_days",
]
DATE_FORMATS = ("iso", "yyyyMMdd", "epoch_ms", "epoch_s")
# the tokens of a date pattern: what the check here accepts is what mapping.py parses
DATE_PATTERN_TOKENS = re.compile(r"yyyy|yy|MM|M|dd|d|HH|H|mm|m|ss|s")


def _check_date_format(value: str) -> str:
    """A named format, or a pattern of yyyy, MM/M, dd/d, HH/H, mm/m, ss/s and literal text."""
    if value in DATE_FORMATS:
        return value
    tokens = set(DATE_PATTERN_TOKENS.findall(value))
    if not ({"yyyy", "yy"} & tokens and {"MM", "M"} & tokens and {"dd", "d"} & tokens):
        raise ValueError(
            f"{value!r} is neither one of {', '.join(DATE_FORMATS)} nor a pattern with year, month and day "
            "(e.g. yyyy年M月d日, yyyy/MM/dd HH:mm, dd.MM.yyyy)"
        )
    return value


def _check_time_zone(value: str) -> str:
    if re.fullmatch(r"[+-]\d{2}:\d{2}|UTC|Z", value):
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai, +08:00)") from exc
    return value


def _check_expr(value: str) -> str:
    try:
        jmespath.compile(value)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"not a JMESPath expression: {' '.join(str(exc).split())[:160]}") from exc
    return value


DateFormat = Annotated[str, AfterValidator(_check_date_format)]
TimeZone = Annotated[str, AfterValidator(_check_time_zone)]
Expression = Annotated[str, AfterValidator(_check_expr)]


class FieldMap(_Model):
    """Where one canonical field comes from in a department's item, and how to read it."""

    path: str = Field(
        "", description="JSON: dotted path; CSV: column name; XML: element path, @attr for attributes"
    )
    expr: Expression | None = Field(
        None, description="instead of path: a JMESPath expression over the item (JSON and CSV items)"
    )
    convert: Convert = "str"
    split: str | None = Field(None, description="for lists sent as one string: the separator")
    join: str | None = Field(None, description="for text sent as a list: join its parts with this")
    trim: str | None = Field(None, description="characters to strip from both ends, besides spaces")
    date_format: DateFormat = Field(
        "iso", description="iso, yyyyMMdd, epoch_ms, epoch_s, or a pattern such as yyyy年M月d日 HH:mm"
    )
    time_zone: TimeZone = Field("Asia/Shanghai", description="of a date or time that does not say its own")
    true_words: tuple[str, ...] | None = Field(None, description="convert: bool — the words meaning yes")
    false_words: tuple[str, ...] | None = Field(None, description="convert: bool — the words meaning no")
    values: dict[str, str] | None = Field(
        None, description="the department's vocabulary -> canonical, applied before `convert`"
    )
    fallback: str | None = Field(None, description="canonical value for a vocabulary word not in `values`")
    pass_through: bool = Field(
        False,
        description="a word not in `values` is converted as it is (e.g. values: {免费: '0'}, convert: money)",
    )
    from_json: bool = Field(False, description="the value is JSON text to decode first (e.g. a CSV column)")
    fields: dict[str, FieldMap] | None = Field(None, description="convert: records — each sub-item's fields")
    default: Any = None

    @field_validator("fields", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        return _expand(value)

    @model_validator(mode="after")
    def _one_source(self) -> FieldMap:
        if self.expr is not None and self.path:
            raise ValueError("give path or expr, not both")
        if self.expr is None and not self.path:
            raise ValueError("give path (or expr)")
        return self


def _expand(value: Any) -> Any:
    # Shorthand: `name_zh: mingcheng` means `name_zh: {path: mingcheng}`.
    if isinstance(value, Mapping):
        return {key: {"path": item} if isinstance(item, str) else item for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Target:
    """A canonical field: the conversions that make sense for it, its vocabulary, its sub-fields."""

    converts: tuple[str, ...]
    required: bool = False
    vocabulary: frozenset[str] | None = None
    fields: Mapping[str, Target] | None = None


def _words(enum: type[StrEnum]) -> frozenset[str]:
    return frozenset(member.value for member in enum)


STR, REQUIRED_STR = Target(("str",)), Target(("str",), required=True)
WHEN = Target(("datetime",))

# Every canonical record a capability produces, field by field. Fields not required may be left out
# of a mapping; they then get their default.
RECORDS: dict[str, dict[str, Target]] = {
    "catalog": {
        "id": REQUIRED_STR,
        "name_zh": REQUIRED_STR,
        "name_en": STR,
        "description": STR,
        "category": Target(("str",), required=True, vocabulary=_words(Category)),
        "channels": Target(("list",), vocabulary=_words(Channel)),
        "fee_fen": Target(("fen", "yuan", "int", "money")),
        "processing_days": Target(("int", "duration_days")),
        "required_documents": Target(("list",)),
        "updated_at": WHEN,
        "criteria": Target(
            ("records",),
            fields={
                "fact": Target(("str",), required=True, vocabulary=CRITERION_FACTS),
                "op": Target(("str",), required=True, vocabulary=CRITERION_OPS),
                "value": Target(("value",), required=True),
                "text": STR,
            },
        ),
    },
    "stations": {
        "id": REQUIRED_STR,
        "name": REQUIRED_STR,
        "town": STR,
        "address": STR,
        "latitude": Target(("float",), required=True),
        "longitude": Target(("float",), required=True),
        "phone": STR,
        "opening_hours": Target(("opening_hours",)),
        "service_ids": Target(("list",)),
    },
    "facts": {
        "resident_id": STR,
        "birth_date": Target(("date",)),
        "hukou_district": STR,
        "household_id": STR,
        "household_type": Target(("str",), vocabulary=frozenset({"urban", "rural"})),
        "income_band": Target(
            ("str",), vocabulary=frozenset({"LOW", "LOWER_MIDDLE", "MIDDLE", "UPPER_MIDDLE", "HIGH"})
        ),
        "employment_status": Target(
            ("str",),
            vocabulary=frozenset({"EMPLOYED", "UNEMPLOYED", "RETIRED", "STUDENT", "FLEXIBLE", "NONE"}),
        ),
        "disability_level": Target(("int",)),
        "veteran": Target(("bool",)),
        "medical_insurance": Target(("str",), vocabulary=frozenset({"EMPLOYEE", "RESIDENT", "NONE"})),
        "volunteer_hours": Target(("int",)),
        "land_contract_mu": Target(("float",)),
        "minimum_allowance": Target(("bool",)),
        "name": STR,
        "address": STR,
    },
    "accounts": {"key": REQUIRED_STR, "resident_id": STR, "kind": STR},
    "bills": {
        "id": REQUIRED_STR,
        "account": STR,
        "utility": STR,
        "period": STR,
        "amount_fen": Target(("fen", "yuan", "int", "money"), required=True),
        "due_date": Target(("date",)),
        "paid": Target(("bool",)),
        "paid_at": WHEN,
        "resident_id": STR,
    },
    "cases": {
        "id": REQUIRED_STR,
        "service_id": REQUIRED_STR,
        "resident_id": STR,
        "status": Target(("str",), required=True, vocabulary=_words(CaseStatus)),
        "department_status": STR,
        "history": Target(
            ("records",),
            fields={
                "at": Target(("datetime",), required=True),
                "status": Target(("str",), required=True, vocabulary=_words(CaseStatus)),
                "department_status": STR,
                "note": STR,
            },
        ),
        "submitted_at": WHEN,
        "updated_at": WHEN,
        "next_action": STR,
        "expected_completion": WHEN,
    },
}
# applications: the department answers a submission with the case it became, mapped like a case
RECORDS["applications"] = RECORDS["cases"]
# volunteers: the department's register (a record for a resident means a registered volunteer)
RECORDS["volunteers"] = {"resident_id": STR, "volunteer_no": STR, "status": STR}
# hours_reports: hours a volunteer served, reported under a key the department files once; its receipt
RECORDS["hours_reports"] = {
    "report_key": REQUIRED_STR,
    "hours": Target(("float",), required=True),
    "total_hours": Target(("float",)),
    "result": STR,
    "resident_id": STR,
}
# payments: the department answers a payment it was told of with the bill as it now stands
RECORDS["payments"] = RECORDS["bills"]
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    capability: tuple(name for name, target in fields.items() if target.required)
    for capability, fields in RECORDS.items()
}
# keyed by a resident: never shared, never stale
PERSONAL = frozenset({"facts", "cases", "applications", "accounts", "bills", "volunteers", "hours_reports"})
# operations with side effects: sent only by their own adapter method, never read, cached or probed
WRITES = frozenset({"applications", "payments", "hours_reports"})
# what ``hours_reports`` may put into its request; ``{report_key}`` is required (the department dedupes)
HOURS_REPORT_PLACEHOLDERS = ("{report_key}", "{resident_id}", "{hours}", "{served_on}", "{activity_id}")
# what ``applications`` may put into path, params, headers and body (``_json`` ones are JSON, not escaped)
SUBMISSION_PLACEHOLDERS = (
    "{resident_id}",
    "{service_id}",
    "{idempotency_key}",
    "{documents}",
    "{documents_json}",
    "{answers}",
    "{answers_json}",
)


def mapping_problems(mapping: Mapping[str, FieldMap], targets: Mapping[str, Target], where: str) -> list[str]:
    """Everything wrong with a mapping against the record it must produce, each with its key path."""
    problems = [
        f"{where}: '{name}' is required"
        for name, target in targets.items()
        if target.required and name not in mapping
    ]
    for name, field_map in mapping.items():
        at = f"{where}.{name}"
        target = targets.get(name)
        if target is None:
            problems.append(f"{at}: not a field of this record ({', '.join(targets)})")
            continue
        list_from_text = field_map.convert == "str" and target.converts == ("list",) and field_map.split
        text_from_list = field_map.join is not None and target.converts == ("str",)
        if field_map.convert not in target.converts and not list_from_text and not text_from_list:
            problems.append(f"{at}.convert: '{field_map.convert}' where {'/'.join(target.converts)} expected")
        if target.vocabulary is not None and field_map.values is not None:
            problems.extend(
                f"{at}.values.{word}: '{value}' is not one of {sorted(target.vocabulary)}"
                for word, value in field_map.values.items()
                if value not in target.vocabulary
            )
        if target.vocabulary is not None and field_map.fallback not in (None, *target.vocabulary):
            problems.append(
                f"{at}.fallback: '{field_map.fallback}' is not one of {sorted(target.vocabulary)}"
            )
        if target.fields is not None:
            if not field_map.fields:
                problems.append(f"{at}.fields: the sub-item fields are required")
            else:
                problems.extend(mapping_problems(field_map.fields, target.fields, f"{at}.fields"))
    return problems


class Batch(_Model):
    """Many residents in one call: ``{resident_ids}`` in the path, params or body expands to them."""

    max_size: int = Field(50, ge=1, le=1000)
    separator: str = Field(",", description="between residents in {resident_ids}")
    item_template: str = Field("{resident_id}", description="one resident, e.g. <id>{resident_id}</id>")


class NotFound(_Model):
    """How the department says "no such resident": an answer (no data), not a failure."""

    statuses: tuple[int, ...] = (404,)
    soap_fault: str | None = Field(None, description="a faultstring meaning not found")


class Submission(_Model):
    """applications: how the documents and answers of an application are written into the request.

    ``{documents}`` is each document through ``document_template`` (``{document}``), joined by
    ``document_separator``; ``{answers}`` likewise with ``{name}`` and ``{value}``. ``{documents_json}``
    and ``{answers_json}`` are a JSON list and object. Values are escaped for the format (JSON string
    content, XML text) before they are put in.
    """

    document_template: str = "{document}"
    document_separator: str = ","
    answer_template: str = "{name}={value}"
    answer_separator: str = ","


class Operation(_Model):
    method: Literal["GET", "POST"] = "GET"
    path: str = Field(description="under base_url, starting with /; may hold {resident_id}")
    format: Format | None = Field(None, description="this operation's format, when not the spec's")
    charset: Charset | None = Field(None, description="force this operation's charset (of either format)")
    base_path: str | None = Field(
        None, description="this operation's path prefix on base_url's host, instead of base_url's path"
    )
    auth: Auth | None = Field(None, description="this operation's auth, when not the spec's")
    params: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(None, description="request body, e.g. a SOAP envelope")
    document: str | None = Field(None, description="format graphql: the query document")
    variables: dict[str, Any] = Field(
        default_factory=dict,
        description="format graphql: its variables; strings may hold {resident_id}; paging parameters "
        "(cursor_param, limit_param, ...) are sent as variables too",
    )
    items: str = Field("", description="where the list of items is in the (unwrapped) response")
    pagination: Pagination = Field(default_factory=NoPagination)
    batch: Batch | None = Field(None, description="facts: the department answers for many residents at once")
    not_found: NotFound | None = None
    mapping: dict[str, FieldMap]
    cache_ttl_s: float = Field(300.0, ge=0, description="serve from cache this long without asking")
    stale_ttl_s: float = Field(86_400.0, ge=0, description="keep serving stale this long if it fails")
    public: bool = Field(True, description="public data: shared between users, may be served stale")
    max_pages: int = Field(200, ge=1, le=10_000)
    for_each: Literal["accounts"] | None = Field(
        None,
        description="keyed by the department's own numbers: run once per key the 'accounts' operation "
        "finds for the resident, with {key} in path, params or body",
    )
    submission: Submission | None = Field(
        None,
        description="applications: how documents and answers are written; the request may send "
        "{idempotency_key} (header, params or body) — only then is a submission retried",
    )

    @field_validator("mapping", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        return _expand(value)

    @field_validator("path", "base_path")
    @classmethod
    def _absolute_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    def template_text(self) -> str:
        variables = [str(v) for v in self.variables.values()]
        return " ".join((self.path, *self.params.values(), self.body or "", *variables))


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


class ProbeSamples(_Model):
    """Sample parameters for probing a spec before it is served (``onestop connector register``)."""

    resident_id: str | None = Field(
        None,
        pattern=RESIDENT_ID.pattern,
        description="a test resident the department knows (facts, cases); without it those are not probed",
    )


class Webhook(_Model):
    """The department may call ``POST /webhooks/<id>`` when a case changes, signed with ``secret``.

    The signature is ``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` in
    ``signature_header``, the Unix time in ``timestamp_header``; older than ``max_skew_s`` is a replay.
    """

    secret: SecretStr = Field(min_length=16)
    signature_header: str = "X-Onestop-Signature"
    timestamp_header: str = "X-Onestop-Timestamp"
    max_skew_s: float = Field(300.0, gt=0, le=3600, description="how old (or early) a signed call may be")


class ConnectorSpec(_Model):
    id: str = Field(pattern=SLUG)
    name: Name
    base_url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    auth: Auth = Field(default_factory=NoAuth)
    format: Format
    policy: Policy = Field(default_factory=Policy)
    operations: dict[
        Literal[
            "catalog",
            "stations",
            "facts",
            "cases",
            "applications",
            "accounts",
            "bills",
            "payments",
            "volunteers",
            "hours_reports",
        ],
        Operation,
    ]
    webhook: Webhook | None = Field(None, description="case-change calls from the department (needs cases)")
    probe: ProbeSamples | None = Field(None, description="sample parameters for the probe at registration")

    @model_validator(mode="after")
    def _operations_complete(self) -> ConnectorSpec:
        problems: list[str] = []
        for capability, operation in self.operations.items():
            where = f"operations.{capability}"
            problems.extend(mapping_problems(operation.mapping, RECORDS[capability], f"{where}.mapping"))
            problems.extend(_personal_problems(capability, operation, where))
            problems.extend(_submission_problems(capability, operation, where))
            problems.extend(_hours_report_problems(capability, operation, where))
            problems.extend(_payment_problems(capability, operation, where))
            problems.extend(_for_each_problems(capability, operation, where, set(self.operations)))
            problems.extend(_expression_problems(operation, operation.format or self.format, where))
            problems.extend(_graphql_problems(capability, operation, operation.format or self.format, where))
        if self.webhook is not None and "cases" not in self.operations:
            problems.append("webhook: only a department with a cases operation may call the webhook")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def capabilities(self) -> tuple[str, ...]:
        return tuple(sorted(self.operations))

    def format_of(self, operation: Operation) -> JsonFormat | XmlFormat | CsvFormat | GraphqlFormat:
        fmt = operation.format or self.format
        return fmt if operation.charset is None else fmt.model_copy(update={"charset": operation.charset})


def _graphql_problems(capability: str, operation: Operation, fmt: Any, where: str) -> list[str]:
    """A GraphQL source needs a document per operation; a document elsewhere would never be sent."""
    if not isinstance(fmt, GraphqlFormat):
        return (
            [f"{where}.document: only an operation of format graphql sends a document"]
            if operation.document
            else []
        )
    problems = []
    if not operation.document:
        problems.append(f"{where}.document: format graphql needs the query document")
    if operation.body is not None:
        problems.append(f"{where}.body: format graphql sends document and variables, not a body")
    if capability == "applications":
        problems.append(f"{where}.format: applications are not submitted to a GraphQL source yet")
    return problems


def _expression_problems(operation: Operation, fmt: Any, where: str) -> list[str]:
    """JMESPath reads data, not XML elements: an expression on an XML operation could never work."""
    if not isinstance(fmt, XmlFormat):
        return []
    return [
        f"{where}.mapping.{name}.expr: expressions read JSON and CSV items, not XML"
        for name, field_map in _all_fields(operation.mapping)
        if field_map.expr is not None
    ]


def _all_fields(mapping: Mapping[str, FieldMap], prefix: str = "") -> list[tuple[str, FieldMap]]:
    found = []
    for name, field_map in mapping.items():
        found.append((prefix + name, field_map))
        if field_map.fields:
            found.extend(_all_fields(field_map.fields, f"{prefix}{name}.fields."))
    return found


def _personal_problems(capability: str, operation: Operation, where: str) -> list[str]:
    """Operations about one resident must say where the resident goes, and never be shared."""
    if capability not in PERSONAL:
        return [f"{where}.batch: only facts may be batched"] if operation.batch else []
    problems = []
    text = operation.template_text()
    if operation.batch is not None:
        if "{resident_ids}" not in text and "{resident_ids_json}" not in text:
            problems.append(f"{where}: a batch operation needs {{resident_ids}} in its path, params or body")
        if "resident_id" not in operation.mapping:
            problems.append(f"{where}.mapping: a batch answer needs 'resident_id' to tell residents apart")
    elif operation.for_each is not None:
        if "{key}" not in text:
            problems.append(f"{where}: for_each needs {{key}} in its path, params or body")
    elif "{resident_id}" not in text:
        problems.append(f"{where}: needs {{resident_id}} in its path, params or body")
    if operation.public:
        problems.append(f"{where}.public: personal data must be 'public: false'")
    return problems


def _for_each_problems(capability: str, operation: Operation, where: str, present: set[str]) -> list[str]:
    """An operation keyed by the department's own numbers needs the operation that finds them."""
    if operation.for_each is None:
        return []
    if capability == operation.for_each or operation.batch is not None:
        return [f"{where}.for_each: not on the operation that finds the keys, nor on a batch"]
    if operation.for_each not in present:
        return [f"{where}.for_each: there is no '{operation.for_each}' operation to find the keys"]
    return []


def _submission_problems(capability: str, operation: Operation, where: str) -> list[str]:
    """An application is POSTed, names its service, and says how its documents are written."""
    if capability != "applications":
        return [f"{where}.submission: only applications submit"] if operation.submission else []
    problems = []
    if operation.method != "POST":
        problems.append(f"{where}.method: an application is submitted with POST")
    if "{service_id}" not in operation.template_text():
        problems.append(f"{where}: needs {{service_id}} in its path, params or body")
    if operation.pagination.style != "none":
        problems.append(f"{where}.pagination: a submission answers one case, not pages")
    text = " ".join((operation.template_text(), *operation.headers.values()))
    problems.extend(
        f"{where}: unknown placeholder {name} (known: {', '.join(SUBMISSION_PLACEHOLDERS)})"
        for name in sorted(set(_PLACEHOLDER.findall(text)) - set(SUBMISSION_PLACEHOLDERS))
    )
    return problems


def _hours_report_problems(capability: str, operation: Operation, where: str) -> list[str]:
    """Hours are POSTed under a report key the department files once, so a retry never counts twice."""
    if capability != "hours_reports":
        return []
    problems = []
    if operation.method != "POST":
        problems.append(f"{where}.method: hours are reported with POST")
    text = " ".join((operation.template_text(), *operation.headers.values()))
    if "{report_key}" not in text:
        problems.append(f"{where}: needs {{report_key}} (the department files each report once)")
    if operation.pagination.style != "none":
        problems.append(f"{where}.pagination: a report answers one receipt, not pages")
    problems.extend(
        f"{where}: unknown placeholder {name} (known: {', '.join(HOURS_REPORT_PLACEHOLDERS)})"
        for name in sorted(set(_PLACEHOLDER.findall(text)) - set(HOURS_REPORT_PLACEHOLDERS))
    )
    return problems


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")

# what ``payments`` may put into path, params, headers and body (connectors/payments.py fills them)
PAYMENT_PLACEHOLDERS = ("{bill_id}", "{provider_txn}", "{amount_fen}", "{paid_at}", "{payment_id}")


def _payment_problems(capability: str, operation: Operation, where: str) -> list[str]:
    """A payment is POSTed for one bill with the provider's transaction (what makes it idempotent)."""
    if capability != "payments":
        return []
    problems = [] if operation.method == "POST" else [f"{where}.method: a payment is reported with POST"]
    text = " ".join((operation.template_text(), *operation.headers.values()))
    problems.extend(
        f"{where}: needs {name} in its path, params or body"
        for name in ("{bill_id}", "{provider_txn}")
        if name not in text
    )
    problems.extend(
        f"{where}: unknown placeholder {name} (known: {', '.join(PAYMENT_PLACEHOLDERS)})"
        for name in sorted(set(_PLACEHOLDER.findall(text)) - set(PAYMENT_PLACEHOLDERS))
    )
    if operation.public:
        problems.append(f"{where}.public: a payment is personal: 'public: false'")
    return problems


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


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, where a scalar YAML reads as a date but that is none (``2026-13-45``) is a
    YAML error like any other: the date constructor raises a bare ValueError, which callers that
    handle ``yaml.YAMLError`` would let through as an internal error."""
    try:
        return yaml.safe_load(text)
    except (ValueError, OverflowError) as exc:
        raise yaml.constructor.ConstructorError(None, None, f"not a valid value: {exc}") from exc


def parse_spec(text: str, environ: Mapping[str, str] | None = None) -> ConnectorSpec:
    """Parse a YAML or JSON spec (JSON is YAML) after substituting variables; raise on any problem."""
    try:
        raw = load_yaml(interpolate(text, os.environ if environ is None else environ))
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
