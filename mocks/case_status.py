"""Cases that move while the mocks run: an admin call changes a case's status, and the department
tells whoever registered a webhook, the way a real department's system would.

`POST /_admin/cases/{department}/{ref}/status` with `{"status": "APPROVED"}` (a canonical status; an
optional `"note"`) appends an event to the case's history, stamped with the wall clock, and from then on
the department's cases endpoint lists the case with its new status in the department's own words.
When a webhook URL is registered (`PUT /_admin/webhooks {"url": "http://gateway/webhooks"}`, or
`python -m mocks --webhook-url ...`) the department then calls `POST <url>/<department>` with
`{"event": "case.status_changed", "ref", "resident_id", "status", "updated_at"}`, signed with its
webhook secret: `X-Onestop-Timestamp: <Unix seconds>` and
`X-Onestop-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.

Changes live per server (per app), never in the shared, cached world.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from mocks.cases import FINAL_STATUSES
from mocks.clock import CST
from mocks.world import Case, CaseEvent, CaseStatus, World

ADMIN_PREFIX = "/_admin"
WEBHOOK_TIMEOUT_S = 5.0

#: Each department's development webhook secret (the gateway's bundled specs default to the same).
WEBHOOK_SECRETS: dict[str, str] = {
    "housing": "zj-webhook-secret-dev",
    "medical-insurance": "yb-webhook-secret-dev",
}

_NOTES: dict[CaseStatus, str] = {
    CaseStatus.ACCEPTED: "材料齐全，予以受理",
    CaseStatus.IN_REVIEW: "业务科室审核中",
    CaseStatus.NEEDS_INFO: "材料不全，需补充提交",
    CaseStatus.APPROVED: "审核通过",
    CaseStatus.REJECTED: "经审核不符合申请条件，不予批准",
    CaseStatus.COMPLETED: "已办结，结果已送达",
    CaseStatus.WITHDRAWN: "申请人主动撤回申请",
    CaseStatus.SUBMITTED: "申请已重新提交",
}


@dataclass
class CaseStatusBoard:
    """One department's status changes, laid over the cases it serves.

    `find(ref)` is the department's own case by reference (from the world or its submissions);
    `words(status)` is the department's word for a status (what its webhook says).
    """

    department: str
    find: Callable[[str], Case | None]
    words: Callable[[CaseStatus], str]
    _changed: dict[str, Case] = field(default_factory=dict)

    def current(self, case: Case) -> Case:
        """The case as it stands now (changed or as seeded)."""
        return self._changed.get(case.ref, case)

    def change(self, ref: str, status: CaseStatus, note: str | None = None) -> Case | None:
        """Move case `ref` to `status` now; None when this department has no such case."""
        original = self.find(ref)
        if original is None:
            return None
        case = self.current(original)
        # to the second, and always after the case's last event (two changes in one second stay ordered)
        last = case.history[-1].at.replace(microsecond=0)
        at = max(datetime.now(CST).replace(microsecond=0), last + timedelta(seconds=1))
        event = CaseEvent(at, status, note or _NOTES[status])
        final = status in FINAL_STATUSES
        changed = replace(
            case,
            status=status,
            history=(*case.history, event),
            updated_at=at,
            next_action=None if final else case.next_action,
            expected_completion=None if final else case.expected_completion,
        )
        self._changed[ref] = changed
        return changed

    def reset(self) -> None:
        self._changed.clear()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass
class WebhookSender:
    """Calls the registered webhook for each change, signed with the department's secret."""

    url: str | None = None
    secrets: Mapping[str, str] = field(default_factory=lambda: dict(WEBHOOK_SECRETS))
    sent: int = 0

    async def notify(self, department: str, case: Case, word: str) -> dict[str, Any] | None:
        """What the webhook answered (`status`, or `error`); None when no webhook is registered."""
        secret = self.secrets.get(department)
        if self.url is None or secret is None:
            return None
        body = json.dumps(
            {
                "event": "case.status_changed",
                "ref": case.ref,
                "resident_id": case.resident,
                "status": word,
                "updated_at": case.updated_at.isoformat(),
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Onestop-Timestamp": timestamp,
            "X-Onestop-Signature": sign(secret, timestamp, body),
        }
        target = f"{self.url.rstrip('/')}/{department}"
        try:
            timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_S)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(target, data=body, headers=headers) as response,
            ):
                self.sent += 1
                return {"status": response.status}
        except (aiohttp.ClientError, TimeoutError) as exc:
            return {"error": type(exc).__name__}


class CaseStatusApi:
    """`/_admin/cases/...` and `/_admin/webhooks`, over the boards of the departments that have one."""

    def __init__(self, boards: Mapping[str, CaseStatusBoard], sender: WebhookSender) -> None:
        self.boards = boards
        self.sender = sender

    def routes(self) -> list[web.RouteDef]:
        p = ADMIN_PREFIX
        return [
            web.post(f"{p}/cases/{{department}}/{{ref:.+}}/status", self.change_status),
            web.get(f"{p}/webhooks", self.webhook),
            web.put(f"{p}/webhooks", self.set_webhook),
            web.delete(f"{p}/webhooks", self.clear_webhook),
        ]

    async def change_status(self, request: web.Request) -> web.StreamResponse:
        department, ref = request.match_info["department"], request.match_info["ref"]
        board = self.boards.get(department)
        if board is None:
            return _error(404, f"{department} has no cases that can change here (of: {sorted(self.boards)})")
        body = await _body(request)
        status_text = body.get("status") if body is not None else None
        try:
            status = CaseStatus(str(status_text))
        except ValueError:
            return _error(400, f'body must be {{"status": one of {[s.value for s in CaseStatus]}}}')
        note = body.get("note") if body is not None else None
        case = board.change(ref, status, str(note) if note else None)
        if case is None:
            return _error(404, f"{department} has no case {ref}")
        word = board.words(status)
        webhook = await self.sender.notify(department, case, word)
        return web.json_response(
            {
                "department": department,
                "ref": case.ref,
                "status": status.value,
                "department_status": word,
                "updated_at": case.updated_at.isoformat(),
                "webhook": webhook,
            }
        )

    async def webhook(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response({"url": self.sender.url, "sent": self.sender.sent})

    async def set_webhook(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        url = body.get("url") if body is not None else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _error(400, 'body must be {"url": "http://..."}')
        self.sender.url = url
        return await self.webhook(request)

    async def clear_webhook(self, request: web.Request) -> web.StreamResponse:
        self.sender.url = None
        return await self.webhook(request)


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def world_case(world: World, ref: str, department: str) -> Case | None:
    """A seeded case of `department` by reference (None for another department's)."""
    case = world.case(ref)
    return case if case is not None and case.department == department else None
