"""The audit trail of connector changes: who did what to which department, and whether it was allowed.

Every change made through the admin API is written here — refused attempts too, so a department admin
probing another department's connector leaves a trace. ``actor`` is the admin's or operator's user id
(never a resident's ID number: residents cannot reach the admin API).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class AuditRow(Base):
    __tablename__ = "connector_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    department: Mapped[str] = mapped_column(String(40), nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)  # ok, draft, refused, forbidden
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    actor: str
    role: str
    department: str
    action: str
    outcome: str
    version: int | None = None
    detail: str = ""


async def record(sessions: async_sessionmaker[AsyncSession], event: AuditEvent) -> None:
    """Write one audit row in its own transaction (a refused change has no other transaction)."""
    async with sessions.begin() as session:
        session.add(
            AuditRow(
                at=datetime.now(UTC),
                actor=event.actor,
                role=event.role,
                department=event.department,
                action=event.action,
                version=event.version,
                outcome=event.outcome,
                detail=event.detail[:2000],
            )
        )


async def entries(
    sessions: async_sessionmaker[AsyncSession], department: str | None = None, limit: int = 50
) -> list[AuditRow]:
    """The newest entries first, of one department or of all."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if department is not None:
        query = query.where(AuditRow.department == department)
    async with sessions() as session:
        return list((await session.scalars(query)).all())
