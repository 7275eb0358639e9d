"""Reading a department's response body — JSON, XML/SOAP 1.1 or CSV in any charset — into items.

Each format yields a ``Page`` of raw items plus what pagination needs (total, next cursor), and an
``ItemReader`` that the mapping uses to pull a field out of one raw item by the path the spec gives.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from xml.etree.ElementTree import Element

import orjson
from defusedxml import ElementTree as SafeET

from connectors.errors import UpstreamCode, UpstreamError
from connectors.spec import CsvFormat, Format, GraphqlFormat, JsonFormat, XmlFormat
from connectors.transport import UpstreamResponse

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[Any]
    total: int | None = None
    next_cursor: str | None = None
    next_link: str | None = None


class ItemReader(Protocol):
    def get(self, item: Any, path: str) -> Any: ...

    def get_all(self, item: Any, path: str) -> list[Any]: ...

    def items(self, item: Any, path: str) -> list[Any]:
        """The sub-items at ``path`` themselves (for ``convert: records``), not their text."""
        ...


def _bad(department: str, message: str) -> UpstreamError:
    return UpstreamError(UpstreamCode.BAD_RESPONSE, department, message)


def _dotted(root: Any, path: str) -> Any:
    value = root
    for part in path.split(".") if path else ():
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


class JsonReader:
    def get(self, item: Any, path: str) -> Any:
        return _dotted(item, path)

    def get_all(self, item: Any, path: str) -> list[Any]:
        value = self.get(item, path)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def items(self, item: Any, path: str) -> list[Any]:
        return self.get_all(item, path)


class CsvReader:
    def get(self, item: Any, path: str) -> Any:
        value = item.get(path)
        return None if value in (None, "") else value

    def get_all(self, item: Any, path: str) -> list[Any]:
        value = self.get(item, path)
        return [] if value is None else [value]

    def items(self, item: Any, path: str) -> list[Any]:
        return self.get_all(item, path)


class XmlReader:
    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self.namespaces = dict(namespaces)

    def get(self, item: Any, path: str) -> Any:
        values = self.get_all(item, path)
        return values[0] if values else None

    def get_all(self, item: Any, path: str) -> list[Any]:
        # "a/b/@attr" reads an attribute; "name[@lang='zh']" is an element with a predicate
        head, _, last = path.rpartition("/")
        element_path, attribute = (head, last[1:]) if last.startswith("@") else (path, "")
        elements = item.findall(element_path, self.namespaces) if element_path else [item]
        if attribute:
            return [e.get(attribute) for e in elements if e.get(attribute) is not None]
        return [(e.text or "").strip() for e in elements]

    def items(self, item: Any, path: str) -> list[Any]:
        return list(item.findall(path, self.namespaces)) if path else [item]


def reader_for(fmt: Format) -> ItemReader:
    if isinstance(fmt, (JsonFormat, GraphqlFormat)):
        return JsonReader()
    if isinstance(fmt, XmlFormat):
        return XmlReader(fmt.namespaces)
    return CsvReader()


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_PROLOG = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def answer_charset(response: UpstreamResponse, forced: str | None, xml: bool = False) -> str:
    """The charset to read an answer in: the spec's when it forces one, else what the answer says —
    its byte order mark, its ``Content-Type``, its XML prolog — else UTF-8."""
    if forced:
        return forced
    for bom, name in _BOMS:
        if response.body.startswith(bom):
            return name
    if response.charset:
        return response.charset
    if xml:
        declared = _PROLOG.match(response.body[:200])
        if declared is not None:
            return declared.group(1).decode("ascii")
    return "utf-8"


def _text(response: UpstreamResponse, charset: str, department: str) -> str:
    try:
        return response.body.decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise _bad(department, f"body is not valid {charset}") from exc


def _header_or(response: UpstreamResponse, path: str | None, lookup: Any) -> Any:
    if path is None:
        return None
    if path.startswith("header:"):
        name = path.removeprefix("header:")
        value = response.headers.get(name)
        return link_next(value) if name.lower() == "link" and value else value
    return lookup(path)


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def link_next(header: str) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header."""
    for target, params in _LINK.findall(header):
        rels = re.findall(r'rel\s*=\s*"?([^";]+)"?', params)
        if any("next" in rel.split() for rel in rels):
            return str(target)
    return None


def _as_int(value: Any, department: str, what: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _bad(department, f"{what} is not a number") from exc


def decode_page(
    response: UpstreamResponse,
    fmt: Format,
    items_path: str,
    department: str,
    total_path: str | None = None,
    cursor_path: str | None = None,
    next_path: str | None = None,
) -> Page:
    """Decode one response into a ``Page``; anything unreadable is ``UPSTREAM_BAD_RESPONSE``.

    ``cursor_path`` and ``next_path`` say where the next page is (``header:Link`` for a ``Link``
    header's ``rel="next"``)."""
    if not response.body.strip():
        return Page([])
    if isinstance(fmt, GraphqlFormat):
        page = _graphql_page(response, fmt, items_path, department, total_path, cursor_path or next_path)
    elif isinstance(fmt, JsonFormat):
        page = _json_page(response, fmt, items_path, department, total_path, cursor_path or next_path)
    elif isinstance(fmt, XmlFormat):
        page = _xml_page(response, fmt, items_path, department, total_path, cursor_path or next_path)
    else:
        page = _csv_page(response, fmt, department, total_path, cursor_path or next_path)
    if next_path is not None:  # the same place, read as a link
        return Page(page.items, page.total, None, page.next_cursor)
    return page


def _json_page(
    response: UpstreamResponse,
    fmt: JsonFormat,
    items_path: str,
    department: str,
    total_path: str | None,
    cursor_path: str | None,
) -> Page:
    document = _json_document(response, fmt.charset, department)
    root = document
    if fmt.envelope is not None:
        envelope = fmt.envelope
        if not isinstance(document, dict) or envelope.code_field not in document:
            raise _bad(department, f"no '{envelope.code_field}' in the response envelope")
        code = document[envelope.code_field]
        if not envelope.is_ok(code):
            # HTTP 200 with a failure code: the legacy way of saying "try later".
            raise UpstreamError(UpstreamCode.UNAVAILABLE, department, f"department answered code {code}")
        root = document.get(envelope.data_field)
    where = items_path or "(root)"
    return _page_in(root, document, items_path, where, response, department, total_path, cursor_path)


def _page_in(
    root: Any,
    document: Any,
    items_path: str,
    where: str,
    response: UpstreamResponse,
    department: str,
    total_path: str | None,
    cursor_path: str | None,
) -> Page:
    """The items under ``root`` (the envelope's data, or the whole answer), and the paging values from
    a header or the answer: one reading for JSON and GraphQL answers alike."""
    items = _dotted(root, items_path)
    if isinstance(items, dict):  # one resident's record, answered as an object
        items = [items]
    if not isinstance(items, list):
        raise _bad(department, f"no list at '{where}'")

    def lookup(path: str) -> Any:
        return _in_data_or_document(root, document, path, department)

    total = _as_int(_header_or(response, total_path, lookup), department, "total")
    cursor = _header_or(response, cursor_path, lookup)
    return Page(items, total, None if cursor in (None, "") else str(cursor))


def _json_document(response: UpstreamResponse, forced: str | None, department: str) -> Any:
    charset = answer_charset(response, forced)
    try:
        return orjson.loads(
            response.body if charset.lower() in ("utf-8", "utf8") else _text(response, charset, department)
        )
    except orjson.JSONDecodeError as exc:
        raise _bad(department, "body is not valid JSON") from exc


def _graphql_page(
    response: UpstreamResponse,
    fmt: GraphqlFormat,
    items_path: str,
    department: str,
    total_path: str | None,
    cursor_path: str | None,
) -> Page:
    """``{"data": ..., "errors": [...]}``: errors are typed failures (by their extensions.code, never
    their message, which may carry the department's data); items and paging are read under data."""
    answer = _json_document(response, fmt.charset, department)
    if not isinstance(answer, dict):
        raise _bad(department, "not a GraphQL answer ({data, errors})")
    errors = answer.get("errors")
    if errors:
        codes = sorted(
            {str((e.get("extensions") or {}).get("code") or "") for e in errors if isinstance(e, dict)}
        )
        named = ", ".join(c for c in codes if c) or "no code"
        if set(codes) & set(fmt.auth_error_codes):
            raise UpstreamError(UpstreamCode.AUTH_FAILED, department, f"GraphQL errors ({named})")
        if set(codes) & set(fmt.unavailable_codes):
            raise UpstreamError(UpstreamCode.UNAVAILABLE, department, f"GraphQL errors ({named})")
        raise _bad(department, f"GraphQL errors ({named})")
    data = answer.get("data")
    where = f"data.{items_path}"
    return _page_in(data, answer, items_path, where, response, department, total_path, cursor_path)


def _in_data_or_document(data: Any, document: Any, path: str, department: str) -> Any:
    """A paging value is looked for in the envelope's data, then in the whole answer (departments put
    ``next`` beside ``code`` as often as inside ``data``). A path whose parent is in neither is a
    spec pointing nowhere: an error, not a silent last page."""
    for root in (data, document):
        value = _dotted(root, path)
        if value is not None:
            return value
    parent = path.rpartition(".")[0]
    if parent and _dotted(data, parent) is None and _dotted(document, parent) is None:
        raise _bad(department, f"no '{parent}' in the answer: the paging path '{path}' points nowhere")
    return None


def _xml_page(
    response: UpstreamResponse,
    fmt: XmlFormat,
    items_path: str,
    department: str,
    total_path: str | None,
    cursor_path: str | None,
) -> Page:
    try:
        # decoded here, not by expat: it refuses multi-byte charsets such as GB18030 in a prolog
        source = _text(response, answer_charset(response, fmt.charset, xml=True), department)
        root: Element = SafeET.fromstring(source)
    except SafeET.ParseError as exc:
        raise _bad(department, "body is not well-formed XML") from exc
    except ValueError as exc:  # defusedxml refuses entity tricks (billion laughs, external entities)
        raise _bad(department, f"XML refused: {type(exc).__name__}") from exc
    if fmt.soap is not None:
        root = _soap_body(root, department)
    items = root.findall(items_path, fmt.namespaces) if items_path else list(root)
    reader = XmlReader(fmt.namespaces)
    total = _as_int(_header_or(response, total_path, lambda p: reader.get(root, p)), department, "total")
    cursor = _header_or(response, cursor_path, lambda p: reader.get(root, p))
    return Page(items, total, cursor or None)


def _soap_body(envelope: Element, department: str) -> Element:
    if envelope.tag != f"{{{SOAP11_NS}}}Envelope":
        raise _bad(department, "not a SOAP 1.1 envelope")
    body = envelope.find(f"{{{SOAP11_NS}}}Body")
    if body is None:
        raise _bad(department, "SOAP envelope without a Body")
    fault = body.find(f"{{{SOAP11_NS}}}Fault")
    if fault is not None:
        raise soap_fault_error(fault, department)
    return body


def soap_fault_error(fault: Element, department: str) -> UpstreamError:
    """A ``soap:Server`` fault is the department's trouble (retry later); ``soap:Client`` is ours."""
    code = (fault.findtext("faultcode") or "").strip()
    if code.endswith("Client"):
        return _bad(department, f"SOAP fault {code}: the department refused the request")
    return UpstreamError(UpstreamCode.UNAVAILABLE, department, f"SOAP fault {code or '(no code)'}")


def find_soap_fault(response: UpstreamResponse) -> Element | None:
    """SOAP 1.1 reports faults with HTTP 500; read the fault so it is classified, not guessed."""
    try:
        root = SafeET.fromstring(response.body)
    except (SafeET.ParseError, ValueError):
        return None
    body = root.find(f"{{{SOAP11_NS}}}Body")
    return None if body is None else body.find(f"{{{SOAP11_NS}}}Fault")


def _csv_page(
    response: UpstreamResponse, fmt: CsvFormat, department: str, total_path: str | None, next_path: str | None
) -> Page:
    text = _text(response, answer_charset(response, fmt.charset), department)
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=fmt.delimiter, strict=True))
    except csv.Error as exc:
        raise _bad(department, "body is not valid CSV") from exc
    if any(None in row for row in rows):
        raise _bad(department, "CSV row longer than its header")
    total = _as_int(_header_or(response, total_path, lambda p: None), department, "total")
    cursor = _header_or(response, next_path, lambda p: None)
    return Page(rows, total, cursor or None)
