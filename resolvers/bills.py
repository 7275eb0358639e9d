"""A resident's bills from every department that bills (the utilities): found through the
department's own account numbers, newest period first, optionally only the unpaid ones."""

from __future__ import annotations

from domain.records import BillRecord
from resolvers.notices import Path
from resolvers.residents import PersonalLoaders


async def resident_bills(
    loaders: PersonalLoaders, resident_id: str, path: Path, unpaid: bool | None = None
) -> list[BillRecord]:
    records: list[BillRecord] = await loaders.records(
        "bills", resident_id, loaders.departments_with("bills"), path
    )
    if unpaid is not None:
        records = [b for b in records if b.paid is not unpaid]
    return sorted(records, key=lambda b: (b.period, b.utility, b.id), reverse=True)
