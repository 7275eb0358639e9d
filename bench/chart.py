"""A PNG of latency against throughput: one panel per query, one line per scenario, a point per
concurrency (p50 solid, p99 dashed). Where a line bends upwards, more clients only add queueing."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

PANEL_ORDER = ("services", "stations", "home", "four")


def draw(runs: list[dict[str, Any]], path: Path, title: str) -> Path:
    by_query: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        if run["p50_ms"] is not None and run["requests_per_s"] > 0:
            by_query[run["query"]][run["scenario"]].append(run)
    queries = sorted(
        by_query, key=lambda q: (q not in PANEL_ORDER, PANEL_ORDER.index(q) if q in PANEL_ORDER else 0, q)
    )
    if not queries:
        raise ValueError("no rows to draw")
    columns = min(2, len(queries))
    rows = math.ceil(len(queries) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, 4.6 * rows), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    scenarios = sorted({s for q in by_query.values() for s in q})
    for axis, query in zip(axes.flat, queries, strict=False):
        for scenario, points in sorted(by_query[query].items()):
            _line(axis, points, colours[scenarios.index(scenario) % len(colours)], scenario)
        axis.set_title(query, fontsize=11)
        axis.set_xlabel("throughput (requests/s)")
        axis.set_ylabel("latency (ms, log scale)")
        axis.set_yscale("log")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8, loc="best")
    for axis in list(axes.flat)[len(queries) :]:
        axis.set_visible(False)
    figure.suptitle(
        f"{title}\np50 solid, p99 dashed; the number at a point is the concurrent clients", fontsize=10
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _line(axis: Any, points: list[dict[str, Any]], colour: str, scenario: str) -> None:
    points.sort(key=lambda r: r["concurrency"])
    x = [r["requests_per_s"] for r in points]
    axis.plot(x, [r["p50_ms"] for r in points], "o-", color=colour, label=scenario)
    axis.plot(x, [r["p99_ms"] for r in points], "--", color=colour, alpha=0.5)
    for row in points:
        axis.annotate(
            str(row["concurrency"]),
            (row["requests_per_s"], row["p50_ms"]),
            textcoords="offset points",
            xytext=(3, 4),
            fontsize=7,
            color=colour,
        )
