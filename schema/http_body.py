"""Reading a GraphQL request off HTTP: strict, typed refusals, and trusted documents per channel.

Replaces strawberry's body parsing for GET and POST JSON so that every malformed body is a typed 400
(``BAD_REQUEST``, never a 500: invalid UTF-8, JSON that is not an object, wrong field types) and batches
are refused with ``BATCH_NOT_SUPPORTED``: a JSON array of operations would multiply one request's cost
past every per-request limit (rate, in-flight, complexity). One document may ask for several root
fields instead, and its cost is checked as a whole.

Then, knowing the caller's channel, the persisted-query manifests decide which document runs, and an
APQ client's hash and text register the document once it has run (``schema/apq.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cross_web import HTTPException
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from schema.apq import Documents
from schema.persisted import Manifests, PersistedQueryError, requested_hash

GRAPHQL_RESPONSE = "application/graphql-response+json"


class RequestRefused(HTTPException):
    """An HTTP refusal with its own ``extensions.code`` (the view's default is by status)."""

    def __init__(self, status_code: int, code: str, reason: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


@dataclass
class RequestData(GraphQLRequestData):
    document_id: Any = None  # ``documentId`` of a persisted-document request


def decode(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:  # also invalid UTF-8
        raise RequestRefused(400, "BAD_REQUEST", "the body is not JSON") from None


def request_data(data: Any) -> RequestData:
    """A GraphQL request from a decoded body or query string; a typed 400 when it is not one."""
    if isinstance(data, list):
        raise RequestRefused(
            400, "BATCH_NOT_SUPPORTED", "send one operation per request (one document may have many fields)"
        )
    if not isinstance(data, dict):
        raise RequestRefused(400, "BAD_REQUEST", "a GraphQL request is a JSON object")
    query, variables = data.get("query"), data.get("variables")
    operation, extensions = data.get("operationName"), data.get("extensions")
    for name, value, kind in (
        ("query", query, str),
        ("operationName", operation, str),
        ("variables", variables, dict),
        ("extensions", extensions, dict),
    ):
        if value is not None and not isinstance(value, kind):
            what = "a string" if kind is str else "an object"
            raise RequestRefused(400, "BAD_REQUEST", f"`{name}` must be {what} or null")
    return RequestData(query, variables, operation, extensions, document_id=data.get("documentId"))


def query_params(params: Mapping[str, str | None]) -> dict[str, Any]:
    data: dict[str, Any] = dict(params)
    for name in ("variables", "extensions"):
        if data.get(name):
            data[name] = decode(data[name].encode("utf-8", "surrogatepass"))
    return data


async def resolve(
    manifests: Manifests, documents: Documents | None, data: RequestData, channel: str, media_type: str
) -> str | None:
    """Put the query the manifests allow into ``data`` (a typed refusal when they allow none). Returns
    the hash to register once the document has run (an APQ client sent hash and text on an unlocked
    channel), else None."""
    digest = requested_hash(data.extensions, data.document_id)
    apq = documents if digest and channel not in manifests.locked else None  # locked: manifests only
    sent_text = data.query is not None
    registered = None
    if apq is not None and digest and not sent_text:
        registered = await apq.get(digest)
    try:
        data.query = manifests.resolve(channel, data.query, data.extensions, data.document_id, registered)
    except PersistedQueryError as exc:
        # the request could not run: 400 under the new media type, 200 under application/json
        raise RequestRefused(400 if media_type == GRAPHQL_RESPONSE else 200, exc.code, exc.message) from None
    if data.query is None:
        raise RequestRefused(400, "BAD_REQUEST", "no `query` and no persisted document")
    if apq is not None and digest and sent_text and not manifests.knows(channel, digest):
        return digest
    return None


def media_type_of(content_type: str | None) -> str:
    """``application/json`` of ``Application/JSON; charset=utf-8``: media types ignore case."""
    return (content_type or "").partition(";")[0].strip().lower()


def ran(result: Any) -> bool:
    """Whether the operation ran (its document parsed, validated and passed the limits)."""
    if not isinstance(result, ExecutionResult):
        return False
    return not (result.data is None and result.errors and all(not e.path for e in result.errors))


class StrictRequests:
    """Mixin for the GraphQL view (before strawberry's ``GraphQL`` in the bases): strict body parsing
    and trusted documents. Reads the view's ``manifests`` (trusted documents) and ``documents`` (APQ), and
    the channel the view put on the request."""

    manifests: Manifests
    documents: Documents

    async def parse_http_body(self, request: Any) -> RequestData:
        if request.method == "GET":
            return request_data(query_params(request.query_params))
        if media_type_of(request.content_type) != "application/json":
            raise RequestRefused(400, "BAD_REQUEST", "a GraphQL POST body is application/json")
        return request_data(decode(await request.get_body()))

    async def execute_operation(
        self, request: Any, request_adapter: Any, request_data: Any, *args: Any, **kwargs: Any
    ) -> Any:
        register = None
        documents = self.documents
        if isinstance(request_data, RequestData):
            manifests = self.manifests
            channel = getattr(request.state, "channel", None)
            media_type = getattr(request.state, "media_type", "application/json")
            channel_name = channel.value if channel else "unknown"
            register = await resolve(manifests, documents, request_data, channel_name, media_type)
        result = await super().execute_operation(request, request_adapter, request_data, *args, **kwargs)  # type: ignore[misc]
        if register is not None and ran(result):
            await documents.put(register, request_data.query)
        return result
