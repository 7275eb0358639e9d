"""Which groups of a questionnaire's results to hide, so that no hidden group can be worked out.

Answers are counted per station; each station lies in one town and one area (urban or rural), and
results publish totals by district, town, area and station. Hiding a small group is not enough: a
published total minus the published groups inside it is whatever is hidden there, and the town and
area totals cut across each other (a rural village station can be its town minus its shown siblings,
or the rural total minus the other rural stations). So:

1. groups under ``MIN_GROUP`` answers are hidden (``SMALL_GROUP``);
2. among towns, and among areas, more are hidden until the hidden ones hold ``MIN_GROUP`` answers
   together (``protect``); the stations of a hidden town are all hidden;
3. then an **audit**: with the hidden stations as unknowns, every published total is one linear
   equation over them. A hidden station, town or area whose total is a combination of those equations
   (its indicator vector lies in their row space, checked by exact elimination) could be computed, so
   one more station is hidden — the smallest shown one next to it (same town or area), else the
   smallest shown anywhere — and the audit runs again, until nothing hidden can be computed;
4. if hiding stations cannot get there (or more than ``MAX_AUDITED`` stations would be audited), the
   two area groups are hidden instead and the stations stay as step 2 left them: without the areas the
   groups nest (district > towns > stations), and then step 2 alone leaves nothing computable.

The same equations hold for every count inside a group (how many named a service, rating sums), so
what protects the answer counts protects those too. Bounds (a hidden group has 1-4 answers) are not
used by the audit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

MIN_GROUP = 5
MAX_AUDITED = 300


class Suppression(StrEnum):
    SMALL_GROUP = "SMALL_GROUP"  # fewer than MIN_GROUP answers
    COMPLEMENTARY = "COMPLEMENTARY"  # hidden so that a small group cannot be found by subtraction


@dataclass(frozen=True, slots=True)
class Cell:
    """One station's answers, where the station lies."""

    station: str
    town: str
    area: str
    answers: int


@dataclass(slots=True)
class Hidden:
    towns: dict[str, Suppression] = field(default_factory=dict)
    areas: dict[str, Suppression] = field(default_factory=dict)
    stations: dict[str, Suppression] = field(default_factory=dict)


def protect(counts: Mapping[str, int]) -> dict[str, Suppression]:
    """Which children of one parent to hide: the small ones, and then the smallest others until the
    hidden ones together hold at least ``MIN_GROUP`` answers (or all are hidden)."""
    hidden = {k: Suppression.SMALL_GROUP for k, n in counts.items() if n < MIN_GROUP}
    while hidden and sum(counts[k] for k in hidden) < MIN_GROUP:
        shown = sorted((n, k) for k, n in counts.items() if k not in hidden)
        if not shown:
            break
        hidden[shown[0][1]] = Suppression.COMPLEMENTARY
    return hidden


def hide(cells: Sequence[Cell]) -> Hidden:
    """What to hide of a district's results (the district itself is shown: it has ``MIN_GROUP``)."""
    nested = Hidden(protect(_sums(cells, "town")), protect(_sums(cells, "area")))
    for town, inside in _by(cells, "town").items():
        if town in nested.towns:
            nested.stations.update(dict.fromkeys((c.station for c in inside), Suppression.COMPLEMENTARY))
        else:
            nested.stations.update(protect({c.station: c.answers for c in inside}))
    audited = _audit(cells, Hidden(dict(nested.towns), dict(nested.areas), dict(nested.stations)))
    if audited is not None:
        return audited
    # the urban/rural totals give a hidden group away however stations are hidden: hide them instead.
    # What is left nests (district > towns > stations), where step 2 alone leaves nothing computable.
    nested.areas = {a: nested.areas.get(a, Suppression.COMPLEMENTARY) for a in _by(cells, "area")}
    return nested


def _audit(cells: Sequence[Cell], hidden: Hidden) -> Hidden | None:
    """``hidden`` grown until nothing hidden is computable, or None if hiding stations cannot do it."""
    for _ in range(len(cells) + 1):  # each round hides one more station, so this ends
        if len(hidden.stations) > MAX_AUDITED:
            return None
        computable = _computable(cells, hidden)
        if computable is None:
            return hidden
        partner = _partner(cells, hidden, computable)
        if partner is None:
            return None
        hidden.stations[partner] = Suppression.COMPLEMENTARY
    return None


def _sums(cells: Iterable[Cell], key: str) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for cell in cells:
        sums[getattr(cell, key)] += cell.answers
    return dict(sums)


def _by(cells: Iterable[Cell], key: str) -> dict[str, list[Cell]]:
    groups: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        groups[getattr(cell, key)].append(cell)
    return groups


def _computable(cells: Sequence[Cell], hidden: Hidden) -> list[Cell] | None:
    """The stations of a hidden group whose total the published ones give away, or None."""
    unknown = [c for c in cells if c.station in hidden.stations]
    column = {c.station: i for i, c in enumerate(unknown)}

    def vector(members: Iterable[Cell]) -> list[Fraction]:
        row = [Fraction(0)] * len(unknown)
        for cell in members:
            if cell.station in column:
                row[column[cell.station]] = Fraction(1)
        return row

    towns, areas = _by(cells, "town"), _by(cells, "area")
    published = [vector(cells)]
    published += [vector(inside) for town, inside in towns.items() if town not in hidden.towns]
    published += [vector(inside) for area, inside in areas.items() if area not in hidden.areas]
    basis = _basis(published)
    groups = [[c] for c in unknown]
    groups += [inside for town, inside in towns.items() if town in hidden.towns]
    groups += [inside for area, inside in areas.items() if area in hidden.areas]
    for members in groups:
        if not any(_reduce(vector(members), basis)):
            return members
    return None


def _basis(rows: Iterable[list[Fraction]]) -> list[tuple[int, list[Fraction]]]:
    """Echelon rows (pivot column, row with 1 at the pivot), each reduced by the ones before it."""
    basis: list[tuple[int, list[Fraction]]] = []
    for row in rows:
        reduced = _reduce(row, basis)
        pivot = next((j for j, x in enumerate(reduced) if x), None)
        if pivot is not None:
            scale = reduced[pivot]
            basis.append((pivot, [x / scale for x in reduced]))
    return basis


def _reduce(vector: list[Fraction], basis: Sequence[tuple[int, list[Fraction]]]) -> list[Fraction]:
    """What is left of ``vector`` after taking out the basis: all zero when it lies in their span."""
    for pivot, row in basis:
        factor = vector[pivot]
        if factor:
            vector = [a - factor * b for a, b in zip(vector, row, strict=True)]
    return vector


def _partner(cells: Sequence[Cell], hidden: Hidden, computable: Sequence[Cell]) -> str | None:
    """The smallest shown station beside the computable group (same town or area), else anywhere."""
    shown = [c for c in cells if c.station not in hidden.stations]
    towns, areas = {c.town for c in computable}, {c.area for c in computable}
    near = [c for c in shown if c.town in towns or c.area in areas]
    pool = near or shown
    return min(pool, key=lambda c: (c.answers, c.station)).station if pool else None
