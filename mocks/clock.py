"""The seeded world's calendar: Shanghai time and the moment the world is seen from.

Every age, case history and bill is generated relative to one fixed instant rather than the wall
clock, so a world built today and a world built next year are identical, and tests can state exact
ages ("70 years old") without flaking on a birthday.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

#: Shanghai has no DST; all timestamps in the world carry this offset.
CST = timezone(timedelta(hours=8))

#: The day the world is seen from: ages, open cases and unpaid bills are "as of" this day.
REFERENCE_DAY = date(2026, 11, 25)

#: The instant the world is seen from (morning of the reference day): nothing happened after it.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=CST)


def at_cst(day: date, minute_of_day: int) -> datetime:
    """`day` at `minute_of_day` minutes after midnight, Shanghai time."""
    return datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(minutes=minute_of_day)


def epoch_ms(moment: datetime) -> int:
    """A moment as epoch milliseconds, as several departments store every time."""
    return int(moment.timestamp() * 1000)


def day_ms(day: date) -> int:
    """A date as the epoch milliseconds of its midnight in Shanghai (how those departments store dates)."""
    return epoch_ms(datetime(day.year, day.month, day.day, tzinfo=CST))


def add_years(day: date, years: int) -> date:
    """`day` shifted by whole years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
