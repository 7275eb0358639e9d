"""Reading a department's response body — JSON, XML/SOAP 1.1 or CSV in any charset — into items.

Each format yields a ``Page`` of raw items plus what pagination needs (total, next cursor), and an
``ItemReader`` that the mapping uses to pull a field out of one raw item by the path the spec gives.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from xml.etree.ElementTree import Element

import orjson
from defusedxml import ElementTree as SafeET

from connectors.errors import UpstreamCode, UpstreamError
from connectors.spec import CsvFormat, Format, JsonFormat, XmlFormat
from connectors.transport import UpstreamResponse

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[Any]
    total: int | None = None
    next_cursor: str | None = None


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
        value = _dotted(item, path)
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
    if isinstance(fmt, JsonFormat):
        return JsonReader()
    if isinstance(fmt, XmlFormat):
        return XmlReader(fmt.namespaces)
    return CsvReader()


def _text(response: UpstreamResponse, charset: str, department: str) -> str:
    try:
        return response.body.decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise _bad(department, f"body is not valid {charset}") from exc


def _header_or(response: UpstreamResponse, path: str | None, lookup: Any) -> Any:
    if path is None:
        return None
    if path.startswith("header:"):
        return response.headers.get(path.removeprefix("header:"))
    return lookup(path)


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
) -> Page:
    """Decode one response into a ``Page``; anything unreadable is ``UPSTREAM_BAD_RESPONSE``."""
    if not response.body.strip():
        return Page([])
    if isinstance(fmt, JsonFormat):
        return _json_page(response, fmt, items_path, department, total_path, cursor_path)
    if isinstance(fmt, XmlFormat):
        return _xml_page(response, fmt, items_path, department, total_path, cursor_path)
    return _csv_page(response, fmt, department, total_path)


def _json_page(
    response: UpstreamResponse,
    fmt: JsonFormat,
    items_path: str,
    department: str,
    total_path: str | None,
    cursor_path: str | None,
) -> Page:
    try:
        document = orjson.loads(
            response.body
            if fmt.charset.lower() in ("utf-8", "utf8")
            else _text(response, fmt.charset, department)
        )
    except orjson.JSONDecodeError as exc:
        raise _bad(department, "body is not valid JSON") from exc
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
    items = _dotted(root, items_path)
    if isinstance(items, dict):  # one resident's record, answered as an object
        items = [items]
    if not isinstance(items, list):
        raise _bad(department, f"no list at '{items_path or '(root)'}'")
    total = _as_int(_header_or(response, total_path, lambda p: _dotted(root, p)), department, "total")
    cursor = _header_or(response, cursor_path, lambda p: _dotted(root, p))
    return Page(items, total, None if cursor in (None, "") else str(cursor))


def _xml_page(
    response: UpstreamResponse,
    fmt: XmlFormat,
    items_path: str,
    department: str,
    total_path: str | None,
    cursor_path: str | None,
) -> Page:
    try:
        source: str | bytes = _text(response, fmt.charset, department) if fmt.charset else response.body
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


def _csv_page(response: UpstreamResponse, fmt: CsvFormat, department: str, total_path: str | None) -> Page:
    text = _text(response, fmt.charset, department)
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=fmt.delimiter, strict=True))
    except csv.Error as exc:
        raise _bad(department, "body is not valid CSV") from exc
    if any(None in row for row in rows):
        raise _bad(department, "CSV row longer than its header")
    total = _as_int(_header_or(response, total_path, lambda p: None), department, "total")
    return Page(rows, total)
