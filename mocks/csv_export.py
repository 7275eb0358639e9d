"""The service row the CSV-exporting departments (culture-tourism, hrss, volunteer) all write.

Their exports list the same eleven cells in the same order; they differ only in how lists are joined
and how the update time and the criteria are written, which each passes in.
"""

from __future__ import annotations

from collections.abc import Mapping

from mocks.world import Channel, Service


def service_cells(
    service: Service, channels: Mapping[Channel, str], *, joiner: str, updated: str, criteria: str
) -> list[str]:
    """code, names, description, category, channels, fee, days, documents, `updated`, `criteria`."""
    return [
        service.code,
        service.name_zh,
        service.name_en,
        service.description,
        service.category,
        joiner.join(channels[c] for c in service.channels),
        str(service.fee_fen),
        str(service.processing_days),
        joiner.join(service.documents),
        updated,
        criteria,
    ]
