"""The seeded utility accounts and a year of monthly bills per account."""

from __future__ import annotations

import re
from collections import Counter

from mocks.world import AMOUNT_RANGES, BILL_PERIODS, NOW, UTILITIES, build_world

WORLD = build_world()


def test_accounts_belong_to_households_and_their_heads() -> None:
    assert len({a.account_no for a in WORLD.accounts}) == len(WORLD.accounts)
    for account in WORLD.accounts:
        assert re.fullmatch(r"SH\d{10}", account.account_no)
        assert account.utility in UTILITIES
        members = WORLD.household(account.household_id)
        assert members and members[0].id_number == account.holder and members[0].relation == "HEAD"
        assert account.address == members[0].address
    per_household = Counter((a.household_id, a.utility) for a in WORLD.accounts)
    assert max(per_household.values()) == 1  # one account per utility and household


def test_most_households_have_water_and_power_many_gas() -> None:
    households = {r.household_id for r in WORLD.residents}
    having = {u: {a.household_id for a in WORLD.accounts if a.utility == u} for u in UTILITIES}
    assert len(having["water"]) > 0.9 * len(households)
    assert len(having["power"]) > 0.9 * len(households)
    assert 0.4 * len(households) < len(having["gas"]) < 0.85 * len(households)


def test_twelve_monthly_bills_per_account_ending_2026_10() -> None:
    assert BILL_PERIODS[0] == "2025-11" and BILL_PERIODS[-1] == "2026-10" and len(BILL_PERIODS) == 12
    assert len(WORLD.bills) == 12 * len(WORLD.accounts)
    assert len({b.id for b in WORLD.bills}) == len(WORLD.bills)
    for account in WORLD.accounts:
        bills = WORLD.bills_of(account.account_no)
        assert tuple(b.period for b in bills) == BILL_PERIODS
        assert all(b.utility == account.utility for b in bills)


def test_amounts_in_fen_within_each_utilitys_range() -> None:
    for bill in WORLD.bills:
        low, high = AMOUNT_RANGES[bill.utility]
        assert isinstance(bill.amount_fen, int) and low <= bill.amount_fen <= high, bill
    assert AMOUNT_RANGES == {"water": (2_000, 12_000), "power": (5_000, 40_000), "gas": (2_000, 15_000)}

    # power peaks with summer air conditioning, gas in winter
    def mean(utility: str, period: str) -> float:
        amounts = [b.amount_fen for b in WORLD.bills if b.utility == utility and b.period == period]
        return sum(amounts) / len(amounts)

    assert mean("power", "2026-08") > 1.3 * mean("power", "2026-04")
    assert mean("gas", "2026-01") > 1.5 * mean("gas", "2026-07")


def test_older_bills_paid_some_recent_ones_unpaid() -> None:
    for bill in WORLD.bills:
        assert (bill.paid_at is not None) == bill.paid
        year, month = (int(x) for x in bill.period.split("-"))
        assert (bill.due_date.year, bill.due_date.month) == (
            (year, month + 1) if month < 12 else (year + 1, 1)
        )
        if bill.paid_at is not None:
            assert bill.paid_at < NOW and bill.paid_at.date() <= bill.due_date
            assert (bill.paid_at.year, bill.paid_at.month) == (bill.due_date.year, bill.due_date.month)
        if bill.period <= "2026-07":
            assert bill.paid, bill
    unpaid = [b for b in WORLD.bills if not b.paid]
    assert unpaid and {b.period for b in unpaid} <= {"2026-08", "2026-09", "2026-10"}
    assert 0.02 < len(unpaid) / len(WORLD.bills) < 0.1
    # unpaid bills are the latest ones: once a month is unpaid, every later one is too
    for account in WORLD.accounts:
        paid = [b.paid for b in WORLD.bills_of(account.account_no)]
        assert paid == sorted(paid, reverse=True)
