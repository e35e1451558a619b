"""Where an SCD2 merge of 100,000 markets spends its time: seconds per phase of each merge of
``bench/scd2_merge.py``'s snapshots (first load, 10% changed, identical), beside the COPY floor.

Usage: python bench/scd2_phases.py [--markets 100000]

Prints one JSON object. Each phase is one function of ``scd2_merge`` timed around its calls
(cumulative: ``write_delta`` includes ``_insert_versions``): ``snapshot_delta`` reads the stored
hashes and hashes the snapshot to compare, ``_digests`` is every hashing wherever it runs,
``copy_into_temp`` and ``_close_changed`` stage and close the changed keys, ``_insert_versions``
COPYs the new versions and their hashes. Same database settings as ``bench/scd2_merge.py``.

``spelling_floor_seconds`` is what any exact change detection in Python costs at the least, with
no server and no hashing: turning every tracked value of a fresh snapshot into a string, one
column at a time by ``map(str, ...)`` (the loop runs in C; no Python code per row). Beside it,
the budget of the issue's goals for an identical snapshot (0.3x the floor) and a 10%-changed one (1x).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections import defaultdict
from datetime import timedelta
from operator import itemgetter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scd2_merge as bench  # noqa: E402
from _database import bench_database  # noqa: E402

from precog_pipelines.lib.warehouse import scd2_merge  # noqa: E402
from precog_pipelines.lib.warehouse.tables import MARKETS  # noqa: E402

PHASES = ("snapshot_delta", "_digests", "copy_into_temp", "_close_changed", "_insert_versions", "write_delta")


def timing_phases(seconds: dict[str, float]) -> None:
    """Wrap each phase's function in the merge module so its calls add to ``seconds``."""
    for name in PHASES:
        original = getattr(scd2_merge, name)

        @functools.wraps(original)
        def timed(*args, __original=original, __name=name, **kwargs):
            started = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                seconds[__name] += time.perf_counter() - started

        setattr(scd2_merge, name, timed)


def spelling_floor(markets: int, repeats: int = 3) -> float:
    """Least seconds, over fresh snapshots, to spell every tracked value of ``markets`` rows."""
    tracked = [itemgetter(MARKETS.columns.index(column)) for column in MARKETS.tracked]
    timings = []
    for _ in range(repeats):
        rows = bench.snapshot(markets, 0.1, changed=True)
        started = time.perf_counter()
        for value_of in tracked:
            list(map(str, map(value_of, rows)))
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=100_000)
    args = parser.parse_args()
    seconds: dict[str, float] = defaultdict(float)
    timing_phases(seconds)
    merges = {}
    with bench_database("precog_bench_scd2_phases") as url:
        bench.seed_keys(url, args.markets)
        floor = bench.copy_floor(url, bench.snapshot(args.markets, 0.1, changed=False))
        # Rows built for each merge, as in bench/scd2_merge.py.
        for name, changed, minutes in (("first_load", False, 0), ("ten_percent_changed", True, 5),
                                       ("identical_snapshot", True, 10)):
            rows = bench.snapshot(args.markets, 0.1, changed=changed)
            seconds.clear()
            total, _ = bench.timed_merge(url, rows, bench.START + timedelta(minutes=minutes))
            merges[name] = {"seconds": round(total, 3), "phases": {k: round(v, 3) for k, v in seconds.items()}}
    spelling = spelling_floor(args.markets)
    print(json.dumps({"benchmark": "scd2_phases", "markets": args.markets, "copy_floor_seconds": round(floor, 3),
                      "spelling_floor_seconds": round(spelling, 3),
                      "identical_budget_seconds": round(0.3 * floor, 3),
                      "ten_percent_changed_budget_seconds": round(floor, 3), **merges}, indent=2))


if __name__ == "__main__":
    main()
