"""Water, power and gas: each household's utility accounts and a year of monthly bills.

Amounts are integer fen, as the utilities bill them, sized by household and season (air conditioning
in July, heating gas in January), so a front-end showing "this month vs. last" has something real to
show.  Everything up to three months back is paid; some households have left the latest one to three
bills unpaid, the latest possibly not yet due — what a payment flow at the station needs to exercise.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from mocks.clock import CST, NOW
from mocks.people import Resident

Utility = Literal["water", "power", "gas"]
UTILITIES: tuple[Utility, ...] = ("water", "power", "gas")

#: The twelve billed months, oldest first, ending with the last complete month before `NOW`.
BILL_PERIODS: tuple[str, ...] = (
    "2025-11",
    "2025-12",
    "2026-01",
    "2026-02",
    "2026-03",
    "2026-04",
    "2026-05",
    "2026-06",
    "2026-07",
    "2026-08",
    "2026-09",
    "2026-10",
)

#: (lowest, highest) monthly bill in fen.
AMOUNT_RANGES: dict[Utility, tuple[int, int]] = {
    "water": (2_000, 12_000),
    "power": (5_000, 40_000),
    "gas": (2_000, 15_000),
}

#: Bills are issued on this day of the month after the period and due on `DUE_DAY`.
ISSUE_DAY = 5
DUE_DAY = 28


@dataclass(frozen=True, slots=True)
class UtilityAccount:
    """A household's account with one utility, in the household head's name."""

    account_no: str
    household_id: str
    utility: Utility
    holder: str
    address: str


@dataclass(frozen=True, slots=True)
class Bill:
    """One month of one account.  `period` is `yyyy-MM`; `paid_at` is set exactly when `paid`."""

    id: str
    account_no: str
    utility: Utility
    period: str
    amount_fen: int
    due_date: date
    paid: bool
    paid_at: datetime | None


#: Month factors, January first: power peaks with summer air conditioning, gas with winter heating.
_SEASON: dict[Utility, tuple[float, ...]] = {
    "water": (0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.2, 1.2, 1.1, 1.0, 0.95, 0.95),
    "power": (1.3, 1.3, 1.0, 0.85, 0.85, 1.2, 1.7, 1.8, 1.3, 0.9, 0.9, 1.2),
    "gas": (1.6, 1.5, 1.2, 1.0, 0.85, 0.75, 0.7, 0.7, 0.75, 0.9, 1.1, 1.4),
}

#: Base monthly bill in fen: a fixed part and a part per household member.
_BASE_FEN: dict[Utility, tuple[int, int]] = {
    "water": (1_500, 1_100),
    "power": (4_000, 3_800),
    "gas": (1_500, 1_400),
}

#: (number of trailing unpaid months, weight).
_UNPAID_TAIL = ((0, 62), (1, 25), (2, 9), (3, 4))


def _has_account(rng: random.Random, utility: Utility, household_type: str) -> bool:
    """Almost every home has water and power; piped gas reaches most flats but few village houses."""
    if utility == "gas":
        return rng.random() < (0.35 if household_type == "rural" else 0.72)
    return rng.random() < (0.96 if utility == "water" else 0.99)


@dataclass(frozen=True, slots=True)
class _Period:
    """What every bill of one period shares, worked out once."""

    period: str
    month: int
    due_date: date
    issued: datetime
    payable_seconds: int  # from issue to the due date's evening, or to NOW if that comes first


def _period(period: str) -> _Period:
    year, month = (int(part) for part in period.split("-"))
    year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    issued = datetime(year, next_month, ISSUE_DAY, 8, 0, tzinfo=CST)
    until = min(datetime(year, next_month, DUE_DAY, 22, 0, tzinfo=CST), NOW)
    seconds = int((until - issued).total_seconds())
    return _Period(period, month, date(year, next_month, DUE_DAY), issued, seconds)


_PERIODS: tuple[_Period, ...] = tuple(_period(p) for p in BILL_PERIODS)


def _amount(rng: random.Random, utility: Utility, base: float, month: int) -> int:
    """One month's bill: the account's base, the season, and a little noise, within range."""
    low, high = AMOUNT_RANGES[utility]
    raw = base * _SEASON[utility][month - 1] * rng.uniform(0.85, 1.15)
    return min(high, max(low, round(raw)))


def _bills(rng: random.Random, account: UtilityAccount, size: int) -> list[Bill]:
    """The twelve bills of an account; the last `unpaid` of them not paid yet, the others paid
    some time between issue and due date."""
    fixed, per_person = _BASE_FEN[account.utility]
    base = (fixed + per_person * size) * rng.uniform(0.8, 1.25)
    unpaid = rng.choices([n for n, _ in _UNPAID_TAIL], [w for _, w in _UNPAID_TAIL])[0]
    first_unpaid = len(_PERIODS) - unpaid
    number, utility = account.account_no, account.utility
    bills: list[Bill] = []
    for index, p in enumerate(_PERIODS):
        paid = index < first_unpaid
        paid_at = p.issued + timedelta(seconds=rng.randrange(p.payable_seconds)) if paid else None
        amount = _amount(rng, utility, base, p.month)
        bill_id = f"{number}-{p.period.replace('-', '')}"
        bills.append(
            Bill(bill_id, account.account_no, account.utility, p.period, amount, p.due_date, paid, paid_at)
        )
    return bills


def _households(residents: Sequence[Resident]) -> dict[str, list[Resident]]:
    """Residents grouped by household, in order of first appearance, head first."""
    households: dict[str, list[Resident]] = {}
    for resident in residents:
        households.setdefault(resident.household_id, []).append(resident)
    return households


def build_utilities(
    rng: random.Random, residents: Sequence[Resident]
) -> tuple[tuple[UtilityAccount, ...], tuple[Bill, ...]]:
    """The accounts of every household (water, power, gas order) and all their bills."""
    used: set[str] = set()
    accounts: list[UtilityAccount] = []
    bills: list[Bill] = []
    for household_id, members in _households(residents).items():
        head = members[0]
        for utility in UTILITIES:
            if not _has_account(rng, utility, head.household_type):
                continue
            account_no = ""
            while not account_no or account_no in used:
                account_no = f"SH{rng.randint(0, 9_999_999_999):010d}"
            used.add(account_no)
            account = UtilityAccount(account_no, household_id, utility, head.id_number, head.address)
            accounts.append(account)
            bills.extend(_bills(rng, account, len(members)))
    return tuple(accounts), tuple(bills)
