"""What a department's ``applications`` operation is filled with: one application, escaped for its format.

An application's documents and answers are free text (Chinese names of papers, a resident's own
words): written into a JSON or XML body they are escaped as JSON string content or XML text, so no
value can close a quote or an element and change the request. Path, params and headers get the plain
values (params are URL-encoded on the way; ID number, service id and key are checked to be plain).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from connectors.spec import Operation, Submission

SERVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KEY_PLACEHOLDER = "{idempotency_key}"


@dataclass(frozen=True, slots=True)
class Application:
    """One resident's application to one service, as it is forwarded (the ID number checked before)."""

    resident_id: str
    service_id: str
    idempotency_key: str
    documents: tuple[str, ...] = ()
    answers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not SERVICE_ID.match(self.service_id):
            raise ValueError("not a service id")
        if not IDEMPOTENCY_KEY.match(self.idempotency_key):
            raise ValueError("not an idempotency key (8-64 letters, digits, '-' or '_')")

    def __repr__(self) -> str:  # never the ID number
        return f"Application({self.service_id}, documents={len(self.documents)}, answers={len(self.answers)})"


def sends_key(operation: Operation) -> bool:
    """Does the department get the idempotency key? Only then may a submission be sent twice."""
    return KEY_PLACEHOLDER in " ".join((operation.template_text(), *operation.headers.values()))


def _escaper(format_kind: str) -> type[_Escape]:
    return {"json": _JsonEscape, "xml": _XmlEscape}.get(format_kind, _Escape)


class _Escape:
    @staticmethod
    def text(value: str) -> str:
        return value


class _JsonEscape(_Escape):
    @staticmethod
    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)[1:-1]  # the content of a JSON string


class _XmlEscape(_Escape):
    @staticmethod
    def text(value: str) -> str:
        return escape(value, {'"': "&quot;", "'": "&apos;"})  # element text and attribute values


def fill(application: Application, submission: Submission | None, format_kind: str) -> dict[str, str]:
    """The placeholders of the body, each value escaped for ``format_kind`` ("plain" for no escaping)."""
    how = submission or Submission()
    esc = _escaper(format_kind).text
    documents = how.document_separator.join(
        how.document_template.replace("{document}", esc(d)) for d in application.documents
    )
    answers = how.answer_separator.join(
        how.answer_template.replace("{name}", esc(name)).replace("{value}", esc(value))
        for name, value in sorted(application.answers.items())
    )
    documents_json = json.dumps(list(application.documents), ensure_ascii=False)
    answers_json = json.dumps(dict(sorted(application.answers.items())), ensure_ascii=False)
    if format_kind != "json":  # JSON text inside XML (or a plain value) is escaped like any text
        documents_json, answers_json = esc(documents_json), esc(answers_json)
    return {
        "resident_id": application.resident_id,
        "service_id": application.service_id,
        "idempotency_key": application.idempotency_key,
        "documents": documents,
        "documents_json": documents_json,
        "answers": answers,
        "answers_json": answers_json,
    }
