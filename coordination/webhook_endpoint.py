"""``POST /webhooks/{department}``: a department tells the gateway one of its cases changed.

The call is checked (signature, freshness, no replay: ``coordination.webhooks``), its body read with a
size limit and validated, and answered ``202`` at once; the change itself is then *confirmed* by asking
the department for that resident's cases (the department's answer is the truth, the call only a hint)
and published on the bus once. Every refusal is a typed JSON error; nothing here answers 500.

Body: ``{"ref": "<department case reference>", "resident_id": "<applicant's ID number>"}`` plus any
informational fields (``status``, ``updated_at``), which are not trusted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from connectors.adapter import check_resident_id
from connectors.errors import UpstreamError
from coordination.watch import CaseWatch
from coordination.webhooks import SeenSignatures, WebhookRefused, verify
from observability.throttle import ThrottledLog

log = logging.getLogger("onestop.webhooks")
_throttled = ThrottledLog(log)  # refusals per department and code: a storm of them is one line and a count

MAX_REF_CHARS = 64
MAX_PENDING = 256  # confirmations in flight per process; beyond that departments are asked to retry


def refusal(status: int, code: str, message: str, retry_after_s: int | None = None) -> Response:
    extensions: dict[str, Any] = {"code": code}
    headers = None
    if retry_after_s is not None:
        extensions["retryAfterSeconds"] = retry_after_s
        headers = {"Retry-After": str(retry_after_s)}
    body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
    return Response(body, status, headers=headers, media_type="application/json")


async def read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise WebhookRefused(413, "PAYLOAD_TOO_LARGE", f"a webhook body is at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise WebhookRefused(413, "PAYLOAD_TOO_LARGE", f"a webhook body is at most {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise WebhookRefused(400, "BAD_REQUEST", "the body was cut off") from exc
    return b"".join(chunks)


def parse_body(body: bytes) -> tuple[str, str]:
    """(case reference, resident ID number) from a webhook body, or a 400 refusal."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise WebhookRefused(400, "BAD_REQUEST", "the body is not JSON") from exc
    if not isinstance(data, dict):
        raise WebhookRefused(400, "BAD_REQUEST", "the body must be a JSON object")
    ref, resident_id = data.get("ref"), data.get("resident_id")
    if not isinstance(ref, str) or not ref.strip() or len(ref) > MAX_REF_CHARS:
        raise WebhookRefused(
            400, "BAD_REQUEST", f"'ref' must be the case reference (at most {MAX_REF_CHARS})"
        )
    if not isinstance(resident_id, str):
        raise WebhookRefused(400, "BAD_REQUEST", "'resident_id' must be the applicant's ID number")
    try:
        check_resident_id(resident_id)
    except ValueError as exc:
        raise WebhookRefused(400, "BAD_REQUEST", "'resident_id' is not an 18-character ID number") from exc
    return ref.strip(), resident_id


class WebhookEndpoint:
    def __init__(self, watch: CaseWatch, seen: SeenSignatures, max_body_bytes: int) -> None:
        self.watch = watch
        self.seen = seen
        self.max_body_bytes = max_body_bytes
        self._pending: set[asyncio.Task[None]] = set()

    async def handle(self, request: Request) -> Response:
        department = request.path_params["department"]
        found = self.watch.registry().get(department)
        webhook = None if found is None else found.spec.webhook
        if found is None or webhook is None:
            return refusal(404, "NOT_FOUND", "no department by that name takes webhooks here")
        try:
            body = await read_bounded(request, self.max_body_bytes)
            await verify(webhook, department, request.headers, body, self.seen)
            ref, resident_id = parse_body(body)
        except WebhookRefused as refused:
            _throttled.info(
                f"refused {department} {refused.code}",
                "webhook from %s refused: %s",
                department,
                refused.code,
            )
            return refusal(refused.status, refused.code, refused.message, refused.retry_after_s)
        if len(self._pending) >= MAX_PENDING:
            return refusal(503, "WEBHOOK_BUSY", "too many changes being confirmed; retry shortly", 5)
        task = asyncio.create_task(self._confirm(department, ref, resident_id), name="onestop-webhook")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return Response(orjson.dumps({"accepted": True}), 202, media_type="application/json")

    async def _confirm(self, department: str, ref: str, resident_id: str) -> None:
        try:
            if not await self.watch.confirm(resident_id, department, ref, "WEBHOOK"):
                log.warning("webhook from %s named a case it does not list for that resident", department)
        except UpstreamError as error:
            # polling (if anyone watches) will find the change once the department answers again
            _throttled.info(
                f"unconfirmed {department} {error.code.value}",
                "webhook from %s not confirmed: %s",
                department,
                error.code.value,
            )
        except Exception:
            log.exception("webhook from %s: confirmation failed", department)

    async def close(self) -> None:
        for task in tuple(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
