"""Applications (办件申请) submitted to the mock departments, with idempotency keys honoured.

Each department that takes applications keeps one `Submissions` book per app: a submission becomes a
new case with status SUBMITTED, numbered in the department's own reference format, and from then on it
is listed with the resident's other cases by that department's cases endpoint.  How the key travels is
each department's habit (a header at one, a body field at another); what it means is the same
everywhere: the same key with the same application answers the case already made (a replay), the same
key with a different application is refused as a conflict, and no key at all makes a new case every
time — as a real legacy system would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from mocks.cases import REF_FORMATS, add_working_days
from mocks.clock import CST
from mocks.world import Case, CaseEvent, CaseStatus, World, is_valid_id_number

MAX_KEY_LENGTH = 64
MAX_DOCUMENTS = 30
#: Numbers of submitted cases start here, above anything the seeded world numbered in a year.
FIRST_NUMBER = 90_001
SUBMITTED_NOTE = "通过一网通办接口提交申请"
FIRST_STEP = "等待窗口受理（通常1个工作日内）"


@dataclass(frozen=True, slots=True)
class Accepted:
    case: Case
    replayed: bool  # the key was seen before: this is the case made then


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the department will not take the application: `conflict` is a key reused for another one."""

    reason: str
    conflict: bool = False


Outcome = Accepted | Refused


@dataclass
class Submissions:
    """One department's submitted applications, kept in memory for the life of the mock server."""

    world: World
    department: str
    _by_key: dict[str, tuple[str, Case]] = field(default_factory=dict)
    _by_resident: dict[str, list[Case]] = field(default_factory=dict)
    _numbered: int = 0

    def submit(
        self,
        key: str | None,
        resident: str,
        service: str,
        documents: Sequence[str] = (),
        answers: Mapping[str, str] | None = None,
    ) -> Outcome:
        """Take an application; the same `key` with the same content answers the same case."""
        problem = self._problem(key, resident, service, documents)
        if problem is not None:
            return Refused(problem)
        fingerprint = _fingerprint(resident, service, documents, answers or {})
        if key is not None and key in self._by_key:
            seen, case = self._by_key[key]
            if seen != fingerprint:
                return Refused("幂等键已用于另一笔申请", conflict=True)
            return Accepted(case, replayed=True)
        case = self._new_case(resident, service)
        if key is not None:
            self._by_key[key] = (fingerprint, case)
        self._by_resident.setdefault(resident, []).append(case)
        return Accepted(case, replayed=False)

    def cases_of(self, resident: str) -> list[Case]:
        """The resident's submitted cases, in submission order."""
        return list(self._by_resident.get(resident, ()))

    def case(self, ref: str) -> Case | None:
        """A submitted case by its reference."""
        return next((c for cases in self._by_resident.values() for c in cases if c.ref == ref), None)

    def count(self) -> int:
        return sum(len(cases) for cases in self._by_resident.values())

    def _problem(self, key: str | None, resident: str, service: str, documents: Sequence[str]) -> str | None:
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
            return f"幂等键须为1-{MAX_KEY_LENGTH}个可打印ASCII字符"
        if not is_valid_id_number(resident):
            return "身份证号无效"
        known = self.world.service(service)
        if known is None or known.department != self.department:
            return f"事项{service}不存在或不属于本部门"
        if len(documents) > MAX_DOCUMENTS:
            return f"材料最多{MAX_DOCUMENTS}份"
        return None

    def _new_case(self, resident: str, service: str) -> Case:
        now = datetime.now(CST).replace(microsecond=0)
        self._numbered += 1
        known = self.world.service(service)
        assert known is not None
        return Case(
            ref=REF_FORMATS[self.department].format(at=now, n=FIRST_NUMBER + self._numbered),
            department=self.department,
            service=service,
            resident=resident,
            status=CaseStatus.SUBMITTED,
            history=(CaseEvent(now, CaseStatus.SUBMITTED, SUBMITTED_NOTE),),
            submitted_at=now,
            updated_at=now,
            next_action=FIRST_STEP,
            expected_completion=add_working_days(now.date(), known.processing_days),
        )


def _fingerprint(resident: str, service: str, documents: Sequence[str], answers: Mapping[str, str]) -> str:
    content = json.dumps(
        [resident, service, sorted(documents), sorted(answers.items())], ensure_ascii=False
    ).encode()
    return hashlib.sha256(content).hexdigest()


async def json_object(request: web.Request) -> dict[str, Any] | None:
    """The request body as a JSON object, or None for anything else (each department words the 400)."""
    try:
        body = json.loads(await request.read())
    except ValueError:  # not JSON, or not UTF-8
        return None
    return body if isinstance(body, dict) else None


def application_path(
    summary: str, body: dict[str, Any], case_ref: str, key_header: str | None
) -> dict[str, Any]:
    """The OpenAPI description of one department's `POST` of an application, answered with its case.

    `key_header` names the idempotency header; a department taking the key in the body documents it
    in `body` instead.
    """
    parameters = []
    if key_header is not None:
        parameters.append(
            {
                "name": key_header,
                "in": "header",
                "required": False,
                "description": "idempotency key: the same key with the same application answers the "
                "case already made; with another application it is refused (409)",
                "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
            }
        )
    return {
        "post": {
            "summary": summary,
            "parameters": parameters,
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": {
                    "description": "the new case (status submitted), or the one made before with this key",
                    "content": {"application/json": {"schema": {"$ref": case_ref}}},
                },
                "400": {"description": "unknown service, bad ID number or body"},
                "409": {"description": "the key was used for another application"},
            },
        }
    }
