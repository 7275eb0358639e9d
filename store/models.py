"""Tables. Each change to them comes with an Alembic migration in ``store/migrations/versions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ConnectorRegistration(Base):
    """One version of one department's connector spec, as department IT registered it.

    ``spec`` is the source text exactly as registered, ``${VARIABLES}`` unexpanded, so secrets stay in
    the environment and never reach the database.
    """

    __tablename__ = "connector_registrations"
    __table_args__ = (
        UniqueConstraint("department", "version", name="uq_connector_department_version"),
        # at most one active version per department, enforced by the database itself
        Index(
            "uq_connector_one_active",
            "department",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    department: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    spec: Mapped[str] = mapped_column(Text, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    registered_by: Mapped[str] = mapped_column(String(200), nullable=False)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # draft (stored, never served: its probe failed), active, inactive (superseded or rolled back),
    # disabled (the department's served version while the department is switched off); migration 0005
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, default="active", server_default="inactive"
    )
