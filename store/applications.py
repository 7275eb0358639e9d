"""Submitted applications, by (principal, idempotency key): the gateway's memory of what it forwarded.

A client that retries a submission (or a gateway that retries after a timeout) sends the same key; the
unique constraint on (principal digest, key) lets exactly one request *claim* it, so two identical
submissions racing on two replicas still reach the department as one. A claim is PENDING while its
department call is in flight and DONE once the department has answered with a case; a failed call
deletes its claim, so a key never points at a case that does not exist and a later retry starts over.

Only what is needed to answer a retry is kept: the department, its case reference and the status it
gave — never an ID number (residents are ``resident_digest``) and never the application's content
(``fingerprint`` is a digest of it, to refuse a key reused for a different application).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.appointments import UtcDateTime
from store.models import Base

PENDING = "PENDING"
DONE = "DONE"


class SubmissionRow(Base):
    __tablename__ = "application_submissions"
    __table_args__ = (
        UniqueConstraint("principal_digest", "idempotency_key", name="uq_submission_principal_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(80), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    resident_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    service_id: Mapped[str] = mapped_column(String(40), nullable=False)
    department: Mapped[str] = mapped_column(String(40), nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False)
    claim: Mapped[str] = mapped_column(String(32), nullable=False)  # who holds a PENDING claim
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    case_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    department_status: Mapped[str | None] = mapped_column(String(80), nullable=True)
    case_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
