"""Submitting an application: check it against the service, forward it once, answer the case.

Plain functions over plain values (no GraphQL): ``problems`` lists everything wrong with an
application at once; ``submit`` forwards it through the idempotency book so that a retried
submission — by the client, or racing on another gateway process — reaches the department once and
always answers the same case. The department gets a key derived from (principal, client key), so two
principals using the same key never collide there.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from access.policy import Acting
from connectors.applications import Application
from connectors.errors import UpstreamError
from connectors.registry import Department
from domain.records import CaseEvent, CaseRecord, CaseStatus, ServiceRecord
from store.submission_book import Claim, Submission, SubmissionBook, SubmissionKey, Wanted

CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_DOCUMENTS = 30
MAX_DOCUMENT_NAME = 100
MAX_ANSWERS = 50
MAX_ANSWER_NAME = 64
MAX_ANSWER_VALUE = 2000
LEASE_MARGIN_S = 5.0  # a claim older than the department's deadline plus this: its holder is gone
POLL_S = (0.02, 0.25)  # first and longest wait between looks at somebody else's claim


class ApplicationError(Exception):
    """A typed refusal; ``extensions`` become the GraphQL error's (``code`` and any details)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extensions: dict[str, Any] = {"code": code, **details}


@dataclass(frozen=True, slots=True)
class ApplicationInput:
    service_id: str
    idempotency_key: str
    documents: Sequence[str] = ()
    answers: Sequence[tuple[str, str]] = ()  # (question, answer) as the client sent them

    def answer_map(self) -> dict[str, str]:
        return dict(self.answers)


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str


def problems(
    application: ApplicationInput,
    service: ServiceRecord | None,
    department: Department | None,
    catalogue_complete: bool = True,
) -> list[Problem]:
    """Everything wrong with ``application`` for ``service`` (None: not in any catalogue read)."""
    found = _form_problems(application)
    if service is None:
        unread = "" if catalogue_complete else " (some departments' catalogues could not be read just now)"
        found.append(Problem("serviceId", "no service with this id in the catalogue" + unread))
        return found
    if department is None or "applications" not in department.spec.operations:
        found.append(Problem("serviceId", f"{service.department} does not take applications through Onestop"))
    given = set(application.documents)
    found.extend(
        Problem("documents", f"missing required document: {d}")
        for d in service.required_documents
        if d not in given
    )
    found.extend(
        Problem("documents", f"not a document this service asks for: {d}")
        for d in dict.fromkeys(application.documents)
        if d not in service.required_documents
    )
    return found


def _form_problems(application: ApplicationInput) -> list[Problem]:
    found = []
    if not CLIENT_KEY.match(application.idempotency_key):
        found.append(Problem("idempotencyKey", "8-64 letters, digits, '-' or '_' (a UUID will do)"))
    if len(application.documents) > MAX_DOCUMENTS:
        found.append(Problem("documents", f"at most {MAX_DOCUMENTS}"))
    if len(set(application.documents)) != len(application.documents):
        found.append(Problem("documents", "a document is listed twice"))
    if any(not d.strip() or len(d) > MAX_DOCUMENT_NAME for d in application.documents):
        found.append(Problem("documents", f"document names are 1-{MAX_DOCUMENT_NAME} characters"))
    if len(application.answers) > MAX_ANSWERS:
        found.append(Problem("answers", f"at most {MAX_ANSWERS}"))
    if len(application.answer_map()) != len(application.answers):
        found.append(Problem("answers", "a question is answered twice"))
    for name, value in application.answers:
        if not name.strip() or len(name) > MAX_ANSWER_NAME:
            found.append(Problem("answers", f"answer names are 1-{MAX_ANSWER_NAME} characters"))
        if len(value) > MAX_ANSWER_VALUE:
            found.append(
                Problem("answers", f"'{name[:MAX_ANSWER_NAME]}': at most {MAX_ANSWER_VALUE} characters")
            )
    return found


def check(
    application: ApplicationInput,
    service: ServiceRecord | None,
    department: Department | None,
    catalogue_complete: bool = True,
) -> None:
    """Raise BAD_USER_INPUT listing every problem (``extensions.problems``), or nothing."""
    found = problems(application, service, department, catalogue_complete)
    if found:
        raise ApplicationError(
            "BAD_USER_INPUT",
            f"the application has {len(found)} problem(s): " + "; ".join(p.message for p in found),
            argument="input",
            problems=[{"field": p.field, "message": p.message} for p in found],
        )


def fingerprint(application: ApplicationInput, resident_digest: str) -> str:
    """Tells a retry (same content) from a reused key (different content); nothing personal in it."""
    content = [
        application.service_id,
        resident_digest,
        sorted(application.documents),
        sorted(application.answers),
    ]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def upstream_key(principal_digest: str, client_key: str) -> str:
    """The key the department sees: one per (principal, client key), never the client's own text."""
    return hashlib.sha256(f"onestop:{principal_digest}:{client_key}".encode()).hexdigest()[:40]


async def submit(
    book: SubmissionBook,
    department: Department,
    acting: Acting,
    application: ApplicationInput,
) -> CaseRecord:
    """Forward ``application`` once per (principal, key) and answer the case it became.

    The caller has ``check``-ed it. Raises ``ApplicationError``: IDEMPOTENCY_KEY_REUSED (the key was used
    for another application), SUBMISSION_IN_PROGRESS (the same submission is still being forwarded
    elsewhere: try again shortly), or the department's own ``UPSTREAM_*`` failure — after which
    nothing is kept, so a retry with the same key starts over.
    """
    key = SubmissionKey(acting.actor_digest, application.idempotency_key)
    wanted = Wanted(
        fingerprint(application, acting.resident_digest),
        acting.resident_digest,
        application.service_id,
        department.id,
    )
    outcome = await claim_or_wait(book, key, wanted, department.spec.policy.deadline_s + LEASE_MARGIN_S)
    if isinstance(outcome, Submission):
        return _remembered(outcome, acting)
    forwarded = Application(
        resident_id=acting.resident_id,
        service_id=application.service_id,
        idempotency_key=upstream_key(key.principal_digest, key.idempotency_key),
        documents=tuple(application.documents),
        answers=application.answer_map(),
    )
    try:
        case = await department.adapter.submit(forwarded)
    except UpstreamError as error:
        await asyncio.shield(book.release(outcome))
        message = f"{error.department}: {error.message}"
        raise ApplicationError(error.code.value, message, department=error.department) from error
    except BaseException:
        await asyncio.shield(book.release(outcome))
        raise
    await book.complete(outcome, case)
    return case


async def claim_or_wait(
    book: SubmissionBook, key: SubmissionKey, wanted: Wanted, lease_s: float, wait_s: float | None = None
) -> Claim | Submission:
    """Our claim, or the finished submission of an earlier request with the same key.

    Another request's claim is waited for at most ``wait_s`` (default: the lease); one older than
    ``lease_s`` — longer than any department call may take — belonged to a process that died, and is
    taken over.
    """
    loop = asyncio.get_running_loop()
    give_up = loop.time() + (lease_s if wait_s is None else wait_s)
    pause = POLL_S[0]
    while True:
        outcome = await book.claim(key, wanted, datetime.now(UTC))
        if outcome is None or isinstance(outcome, Claim):
            if outcome is not None:
                return outcome
            continue  # released just now: claim again
        if outcome.fingerprint != wanted.fingerprint:
            raise ApplicationError(
                "IDEMPOTENCY_KEY_REUSED",
                "this idempotency key was used for a different application; use a new key",
                argument="idempotencyKey",
            )
        if outcome.done:
            return outcome
        if (datetime.now(UTC) - outcome.claimed_at).total_seconds() > lease_s:
            taken = await book.take_over(outcome, datetime.now(UTC))
            if taken is not None:
                return taken
        if loop.time() >= give_up:
            raise ApplicationError(
                "SUBMISSION_IN_PROGRESS",
                "the same submission is still being forwarded to the department; try again shortly",
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, POLL_S[1])


def _remembered(submission: Submission, acting: Acting) -> CaseRecord:
    """The case a finished submission made, from what the book kept (no department call)."""
    assert submission.case_ref is not None
    status = CaseStatus(submission.case_status or CaseStatus.SUBMITTED.value)
    department_status = submission.department_status or status.value
    at = submission.submitted_at or submission.claimed_at
    return CaseRecord(
        id=submission.case_ref,
        department=submission.department,
        service_id=submission.service_id,
        resident_id=acting.resident_id,
        status=status,
        department_status=department_status,
        history=(CaseEvent(at, status, department_status, ""),),
        submitted_at=at,
        updated_at=at,
        next_action=None,
        expected_completion=None,
    )
