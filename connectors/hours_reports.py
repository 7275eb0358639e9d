"""What a department's ``hours_reports`` operation is filled with: one report of hours a volunteer served.

Every value is plain and checked before it is put in (ID number, report key, hours as a decimal with one
place, a date, an activity id), so nothing a client typed can change the request. The report key is
the department's dedupe key: the same report sent again — a retry after a timeout, a second try after
the department was down — is filed once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

REPORT_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
ACTIVITY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_HOURS = 24.0


@dataclass(frozen=True, slots=True)
class HoursReport:
    resident_id: str  # the volunteer's ID number: for the request only, never logged
    report_key: str
    hours: float
    served_on: date
    activity_id: str

    def __post_init__(self) -> None:
        if not REPORT_KEY.match(self.report_key):
            raise ValueError("not a report key (8-64 letters, digits, '-' or '_')")
        if not ACTIVITY_ID.match(self.activity_id):
            raise ValueError("not an activity id")
        if not 0 < self.hours <= MAX_HOURS:
            raise ValueError(f"hours must be more than 0 and at most {MAX_HOURS:g}")

    def __repr__(self) -> str:  # never the ID number
        return f"HoursReport({self.report_key}, {self.hours:.1f} h, {self.activity_id})"


def fill(report: HoursReport, date_format: str = "%Y%m%d") -> dict[str, str]:
    """The placeholders of the request, every one a plain value."""
    return {
        "report_key": report.report_key,
        "resident_id": report.resident_id,
        "hours": f"{report.hours:.1f}",
        "served_on": report.served_on.strftime(date_format),
        "activity_id": report.activity_id,
    }
