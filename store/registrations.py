"""Connector registrations: store a validated spec as a new version, read the active ones back."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.spec import ConnectorSpec, SpecVariableError, parse_spec
from store.models import ConnectorRegistration

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ActiveSpec:
    spec: ConnectorSpec
    version: int


async def register(
    sessions: async_sessionmaker[AsyncSession],
    text: str,
    author: str,
    environ: Mapping[str, str],
    activate: bool = True,
    only_if_new: bool = False,
) -> ConnectorRegistration | None:
    """Validate ``text`` and store it as the department's next version (active unless told otherwise;
    a version not activated is a ``draft``: kept for diff and a later forced registration, never served).

    Raises ``pydantic.ValidationError`` / ``ValueError`` for a bad spec; nothing is written then.
    ``only_if_new`` registers only a department the store has never seen (returns None otherwise).
    Two writers racing for the same version collide on the (department, version) unique constraint:
    one wins, the other gets ``IntegrityError`` and nothing half-written.
    """
    spec = parse_spec(text, environ)
    async with sessions.begin() as session:
        latest = await session.scalar(
            select(func.max(ConnectorRegistration.version)).where(ConnectorRegistration.department == spec.id)
        )
        if only_if_new and latest is not None:
            return None
        if activate:
            await _retire_served(session, spec.id)
        row = ConnectorRegistration(
            department=spec.id,
            version=(latest or 0) + 1,
            spec=text,
            fingerprint=hashlib.sha256(text.encode()).hexdigest(),
            active=activate,
            status=ACTIVE if activate else DRAFT,
            registered_by=author,
            registered_at=datetime.now(UTC),
        )
        session.add(row)
    return row


ACTIVE, DRAFT, INACTIVE, DISABLED = "active", "draft", "inactive", "disabled"


async def _retire_served(session: AsyncSession, department: str) -> None:
    """The served version (or the one kept while disabled) steps down; flushed before another steps up,
    so the one-active-per-department index never sees two."""
    await session.execute(
        update(ConnectorRegistration)
        .where(
            ConnectorRegistration.department == department,
            ConnectorRegistration.status.in_((ACTIVE, DISABLED)),
        )
        .values(active=False, status=INACTIVE)
    )


class RegistrationError(LookupError):
    """A version or department that does not exist, or a change that does not apply (already disabled)."""


async def versions(
    sessions: async_sessionmaker[AsyncSession], department: str
) -> list[ConnectorRegistration]:
    """Every version of one department, oldest first."""
    async with sessions() as session:
        query = (
            select(ConnectorRegistration)
            .where(ConnectorRegistration.department == department)
            .order_by(ConnectorRegistration.version)
        )
        return list((await session.scalars(query)).all())


async def departments(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Every department with at least one version."""
    async with sessions() as session:
        query = select(ConnectorRegistration.department).distinct().order_by(ConnectorRegistration.department)
        return list((await session.scalars(query)).all())


async def activate_version(
    sessions: async_sessionmaker[AsyncSession], department: str, version: int
) -> ConnectorRegistration:
    """Serve ``version`` again (rollback by re-activation: no new version is written, the audit trail
    says who rolled back). Drafts may be activated too: that is how a draft is forced live later."""
    async with sessions.begin() as session:
        row = await session.scalar(
            select(ConnectorRegistration).where(
                ConnectorRegistration.department == department, ConnectorRegistration.version == version
            )
        )
        if row is None:
            raise RegistrationError(f"{department} has no version {version}")
        await _retire_served(session, department)
        await session.flush()
        row.active, row.status = True, ACTIVE
    return row


async def set_enabled(
    sessions: async_sessionmaker[AsyncSession], department: str, enabled: bool
) -> ConnectorRegistration:
    """Switch a department off (its served version is kept as ``disabled``) or back on."""
    before, after = (DISABLED, ACTIVE) if enabled else (ACTIVE, DISABLED)
    async with sessions.begin() as session:
        row = await session.scalar(
            select(ConnectorRegistration).where(
                ConnectorRegistration.department == department, ConnectorRegistration.status == before
            )
        )
        if row is None:
            state = "disabled" if not enabled else "enabled"
            raise RegistrationError(f"{department} has no {before} version (already {state}, or unknown)")
        row.active, row.status = enabled, after
    return row


async def previous_version(sessions: async_sessionmaker[AsyncSession], department: str) -> int:
    """The version a plain ``rollback`` goes back to: the newest non-draft version below the served one."""
    rows = await versions(sessions, department)
    served = next((r.version for r in rows if r.status in (ACTIVE, DISABLED)), None)
    if served is None:
        raise RegistrationError(f"{department} has no served version to roll back from")
    earlier = [r.version for r in rows if r.version < served and r.status != DRAFT]
    if not earlier:
        raise RegistrationError(f"{department} has no version before v{served} to roll back to")
    return earlier[-1]


async def active_versions(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Department -> served version: one small query, what every replica polls."""
    async with sessions() as session:
        result = await session.execute(
            select(ConnectorRegistration.department, ConnectorRegistration.version).where(
                ConnectorRegistration.active
            )
        )
        return {department: version for department, version in result.all()}


async def active_specs(
    sessions: async_sessionmaker[AsyncSession],
    environ: Mapping[str, str],
    only: Collection[str] | None = None,
) -> list[ActiveSpec]:
    """The active version of every department (of those in ``only``). One that no longer loads is
    skipped and logged, so one department's broken environment never stops the gateway serving the
    other eighteen."""
    query = select(ConnectorRegistration).where(ConnectorRegistration.active)
    if only is not None:
        query = query.where(ConnectorRegistration.department.in_(list(only)))
    async with sessions() as session:
        rows = (await session.scalars(query.order_by(ConnectorRegistration.department))).all()
    active: list[ActiveSpec] = []
    for row in rows:
        try:
            active.append(ActiveSpec(parse_spec(row.spec, environ), row.version))
        except (ValidationError, SpecVariableError, ValueError) as exc:
            log.error("connector %s v%d does not load: %s", row.department, row.version, exc)
    return active


async def seed_from_directory(
    sessions: async_sessionmaker[AsyncSession], directory: Path, environ: Mapping[str, str]
) -> list[str]:
    """Register the bundled spec of each department the store does not know yet; returns their ids.

    Departments already registered keep their versions: a restart never overwrites what department
    IT registered.
    """
    seeded: list[str] = []
    for path, text in await asyncio.to_thread(_read_specs, directory):
        try:
            row = await register(
                sessions, text, author=f"seed:{path.name}", environ=environ, only_if_new=True
            )
        except IntegrityError:  # another gateway process seeded it at the same moment: theirs stands
            continue
        except (ValidationError, ValueError) as exc:  # one broken file must not stop the other departments
            log.error("bundled spec %s is not valid, not registered: %s", path.name, exc)
            continue
        if row is not None:
            seeded.append(row.department)
    return seeded


def _read_specs(directory: Path) -> list[tuple[Path, str]]:
    return [(path, path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.yaml"))]
