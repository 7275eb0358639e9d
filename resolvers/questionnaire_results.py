"""A closed questionnaire's results: by district, town, station and urban/rural, with small groups kept
out of sight, the ranked demand per group, station ratings, the gap between demand and what stations
offer, and a CSV of it all.

Rules (every one keeps a resident from being reached through a result):

* **Only after the questionnaire closes.** While open, results would change with each answer, and two
  looks a minute apart would show one resident's answer as their difference. Until it closes only the
  number of answers is given.
* **No group of fewer than ``MIN_GROUP`` answers is shown** (``SMALL_GROUP``): not its count, demand or
  rating.
* **No group can be recovered by subtraction** (``COMPLEMENTARY``): a published total minus the
  published groups inside it must never be one hidden group — ``resolvers.disclosure`` hides more
  until its audit of every published total finds no hidden station, town or area computable.
* **No digests, answer ids, times or channels in results.** Free texts are shown only as the whole
  district's list for a question, when the district has ``MIN_GROUP`` or more of them, sorted by text
  (not by when or where they were written) and tied to no group.

Ranking: a ``RANK_SERVICES`` question is counted by **Borda count** — a service ranked r-th by one
answer gets ``k - r + 1`` points, ``k`` the question's ``maxChoices`` (unranked: 0) — and its mean rank
among the answers that ranked it is given too; a ``CHOOSE_SERVICES`` question by how many answers chose
the service (its points). Services are ordered by points, then by id.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from domain.questionnaires import Question, QuestionKind, Questionnaire
from domain.records import StationRecord
from resolvers.disclosure import MIN_GROUP, Cell, Suppression, hide
from store.questionnaire_book import RatingTally, ServiceTally, Tallies


class Dimension(StrEnum):
    DISTRICT = "DISTRICT"
    TOWN = "TOWN"
    STATION = "STATION"
    AREA = "AREA"


@dataclass(frozen=True, slots=True)
class Demand:
    question: int
    service_id: str
    named: int  # answers that chose or ranked it
    points: int  # Borda points (ranked) or times chosen
    mean_rank: float | None  # ranked questions only
    position: int  # 1 = most wanted in this group for this question


@dataclass(frozen=True, slots=True)
class Rating:
    question: int
    count: int
    mean: float


@dataclass(frozen=True, slots=True)
class Gap:
    service_id: str
    named: int  # how often the group's answers asked for it


@dataclass(frozen=True, slots=True)
class Group:
    dimension: Dimension
    key: str  # "all", the town's name, the station's id, URBAN or RURAL
    suppressed: Suppression | None
    answers: int | None = None  # None when suppressed
    demand: tuple[Demand, ...] = ()
    ratings: tuple[Rating, ...] = ()
    missing: tuple[Gap, ...] = ()  # asked for, not offered at the station (town: at none of its stations)


@dataclass(frozen=True, slots=True)
class Results:
    questionnaire: Questionnaire
    closed: bool
    answers: int | None  # None when fewer than MIN_GROUP
    groups: tuple[Group, ...] = ()
    texts: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


def open_results(questionnaire: Questionnaire, answers: int) -> Results:
    return Results(questionnaire, False, answers if answers >= MIN_GROUP else None)


def results(questionnaire: Questionnaire, tallies: Tallies, stations: Sequence[StationRecord]) -> Results:
    """The closed questionnaire's results from its tallies (``stations``: for what each offers)."""
    counts = {s.station_id: s.answers for s in tallies.stations}
    town_of = {s.station_id: s.town for s in tallies.stations}
    area_of = {s.station_id: s.area for s in tallies.stations}
    total = sum(counts.values())
    if total < MIN_GROUP:
        return Results(
            questionnaire, True, None, (Group(Dimension.DISTRICT, "all", Suppression.SMALL_GROUP),)
        )
    rollup = _Rollup(questionnaire, tallies, stations)
    hidden = hide([Cell(s.station_id, s.town, s.area, s.answers) for s in tallies.stations])
    groups = [rollup.group(Dimension.DISTRICT, "all", list(counts), None)]
    for town in sorted(set(town_of.values())):
        members = sorted(s for s in counts if town_of[s] == town)
        groups.append(rollup.group(Dimension.TOWN, town, members, hidden.towns.get(town)))
        groups += [rollup.group(Dimension.STATION, s, [s], hidden.stations.get(s)) for s in members]
    for area in sorted(set(area_of.values())):
        members = [s for s in counts if area_of[s] == area]
        groups.append(rollup.group(Dimension.AREA, area, members, hidden.areas.get(area)))
    texts = {q: tuple(t) for q, t in tallies.texts.items() if len(t) >= MIN_GROUP}
    return Results(questionnaire, True, total, tuple(groups), texts)


class _Rollup:
    """Sums of one questionnaire's per-station tallies over any set of stations."""

    def __init__(
        self, questionnaire: Questionnaire, tallies: Tallies, stations: Sequence[StationRecord]
    ) -> None:
        self.questions = questionnaire.questions
        self.counts = {s.station_id: s.answers for s in tallies.stations}
        self.services: dict[str, list[ServiceTally]] = defaultdict(list)
        for tally in tallies.services:
            self.services[tally.station_id].append(tally)
        self.ratings: dict[str, list[RatingTally]] = defaultdict(list)
        for rating in tallies.ratings:
            self.ratings[rating.station_id].append(rating)
        self.offered = {s.id: frozenset(s.service_ids) for s in stations}
        self.town_offers: dict[str, set[str]] = defaultdict(set)
        for station in stations:
            self.town_offers[station.town].update(station.service_ids)

    def group(
        self, dimension: Dimension, key: str, members: Iterable[str], hidden: Suppression | None
    ) -> Group:
        if hidden is not None:
            return Group(dimension, key, hidden)
        members = list(members)
        demand = self._demand(members)
        return Group(
            dimension,
            key,
            None,
            sum(self.counts[s] for s in members),
            demand,
            self._ratings(members),
            self._missing(dimension, key, demand),
        )

    def _demand(self, members: list[str]) -> tuple[Demand, ...]:
        sums: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
        for station in members:
            for tally in self.services[station]:
                summed = sums[(tally.question, tally.service_id)]
                summed[0] += tally.named
                summed[1] += tally.rank_sum
        demand: list[Demand] = []
        for index, question in enumerate(self.questions):
            found = [(sid, n, r) for (q, sid), (n, r) in sums.items() if q == index]
            scored = [(_points(question, n, r), sid, n, r) for sid, n, r in found]
            scored.sort(key=lambda x: (-x[0], x[1]))
            ranked = question.kind is QuestionKind.RANK_SERVICES
            demand += [
                Demand(index, sid, n, points, round(r / n, 3) if ranked else None, position)
                for position, (points, sid, n, r) in enumerate(scored, start=1)
            ]
        return tuple(demand)

    def _ratings(self, members: list[str]) -> tuple[Rating, ...]:
        sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for station in members:
            for rating in self.ratings[station]:
                sums[rating.question][0] += rating.count
                sums[rating.question][1] += rating.total
        return tuple(Rating(q, n, round(t / n, 3)) for q, (n, t) in sorted(sums.items()) if n)

    def _missing(self, dimension: Dimension, key: str, demand: Sequence[Demand]) -> tuple[Gap, ...]:
        if dimension is Dimension.STATION:
            offered: frozenset[str] | set[str] | None = self.offered.get(key)
        elif dimension is Dimension.TOWN:
            offered = self.town_offers.get(key)
        else:
            return ()
        if offered is None:  # the stations' department did not answer: no gap is claimed
            return ()
        named: dict[str, int] = defaultdict(int)
        for item in demand:
            named[item.service_id] += item.named
        gaps = [Gap(s, n) for s, n in named.items() if s not in offered]
        return tuple(sorted(gaps, key=lambda g: (-g.named, g.service_id)))


def _points(question: Question, named: int, rank_sum: int) -> int:
    if question.kind is QuestionKind.RANK_SERVICES:
        return named * (question.max_choices + 1) - rank_sum  # Σ (k - r + 1)
    return named


# -- CSV -------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "dimension",
    "group",
    "suppressed",
    "answers",
    "question",
    "kind",
    "service_id",
    "named",
    "points",
    "mean_rank",
    "position",
    "rating_mean",
    "rating_count",
    "offered_here",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(found: Results) -> str:
    """One row per group and demanded service, per group and rating; one row for a hidden group."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    questions = found.questionnaire.questions
    for group in found.groups:
        head = [group.dimension.value, group.key]
        if group.suppressed is not None:
            writer.writerow([cell(v) for v in (*head, group.suppressed.value, *[""] * 11)])
            continue
        missing = {g.service_id for g in group.missing}
        scope = group.dimension in (Dimension.STATION, Dimension.TOWN)
        for d in group.demand:
            offered = ("no" if d.service_id in missing else "yes") if scope else ""
            row = (*head, "", group.answers, d.question, questions[d.question].kind.value, d.service_id)
            writer.writerow(
                [cell(v) for v in (*row, d.named, d.points, d.mean_rank, d.position, "", "", offered)]
            )
        for r in group.ratings:
            row = (*head, "", group.answers, r.question, questions[r.question].kind.value)
            writer.writerow([cell(v) for v in (*row, "", "", "", "", "", r.mean, r.count, "")])
        if not group.demand and not group.ratings:
            writer.writerow([cell(v) for v in (*head, "", group.answers, *[""] * 10)])
    return out.getvalue()
