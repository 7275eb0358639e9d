"""Connector registrations: store a validated spec as a new version, read the active ones back."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
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
    """Validate ``text`` and store it as the department's next version (active unless told otherwise).

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
            await session.execute(
                update(ConnectorRegistration)
                .where(ConnectorRegistration.department == spec.id, ConnectorRegistration.active)
                .values(active=False)
            )
        row = ConnectorRegistration(
            department=spec.id,
            version=(latest or 0) + 1,
            spec=text,
            fingerprint=hashlib.sha256(text.encode()).hexdigest(),
            active=activate,
            registered_by=author,
            registered_at=datetime.now(UTC),
        )
        session.add(row)
    return row


async def active_specs(
    sessions: async_sessionmaker[AsyncSession], environ: Mapping[str, str]
) -> list[ActiveSpec]:
    """The active version of every department. One that no longer loads is skipped and logged, so one
    department's broken environment never stops the gateway serving the other eighteen."""
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(ConnectorRegistration)
                .where(ConnectorRegistration.active)
                .order_by(ConnectorRegistration.department)
            )
        ).all()
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
