"""SCD Type 2 merge of 100,000 markets against the physical floor of a plain COPY, and against
dbt's snapshot (``check`` strategy on the same tracked columns) of the same rows.

Usage: python bench/scd2_merge.py [--markets 100000] [--changed-fraction 0.1] [--naive 10000] [--no-dbt]
                                  [--repeats 1]

Prints one JSON object. Uses PRECOG_BENCH_DATABASE_URL's server (else PRECOG_DATABASE_URL's,
else the embedded one) and drops its database afterwards. dbt is installed only for this bench
(``pip install -r bench/requirements-dbt.txt``); without it the JSON says so and has the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from operator import ne
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _database import bench_database  # noqa: E402
from psycopg.conninfo import conninfo_to_dict  # noqa: E402

from precog_pipelines.lib.warehouse.scd2_merge import merge_snapshot  # noqa: E402
from precog_pipelines.lib.warehouse.server import connect  # noqa: E402
from precog_pipelines.lib.warehouse.tables import MARKETS  # noqa: E402

START = datetime(2026, 9, 13, 17, 0, tzinfo=timezone.utc)
MARKETS_PER_EVENT = 100
DBT_SCHEMA = "dbt_bench"


def cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2).quantize(Decimal("0.0001"))


def snapshot_row(index: int, bid_cents: int) -> tuple:
    ticker = f"KXBENCH-{index // MARKETS_PER_EVENT:05d}-M{index:06d}"
    values = {
        "ticker": ticker, "status": "active", "yes_bid": cents(bid_cents), "yes_ask": cents(bid_cents + 2),
        "no_bid": cents(98 - bid_cents), "no_ask": cents(100 - bid_cents), "last_price": cents(bid_cents + 1),
        "yes_bid_size": Decimal("100.00"), "yes_ask_size": Decimal("80.00"), "result": "",
        "settlement_value": None, "settlement_ts": None, "close_time": START + timedelta(days=14),
        "event_ticker": f"KXBENCH-{index // MARKETS_PER_EVENT:05d}", "market_type": "binary",
        "title": f"Benchmark market {index}", "yes_sub_title": "A", "no_sub_title": "A",
        "volume": Decimal("1000.00"), "volume_24h": Decimal("10.00"), "open_interest": Decimal("500.00"),
        "notional_value": Decimal("1.0000"), "expiration_value": "", "open_time": START - timedelta(days=7),
        "expected_expiration_time": None, "latest_expiration_time": None, "occurrence_datetime": None,
        "can_close_early": True, "updated_time": START,
    }
    return tuple(values[column] for column in MARKETS.columns)


def snapshot(markets: int, changed_fraction: float, *, changed: bool) -> list[tuple]:
    """The first snapshot of ``markets`` markets or, ``changed``, the next one with
    ``changed_fraction`` of them one cent higher: the same rows on every call."""
    rng = random.Random(20261122)
    bids = [rng.randint(2, 95) for _ in range(markets)]
    if not changed:
        return [snapshot_row(i, bid) for i, bid in enumerate(bids)]
    changed_indexes = set(rng.sample(range(markets), int(markets * changed_fraction)))
    return [snapshot_row(i, bid + 1 if i in changed_indexes else bid) for i, bid in enumerate(bids)]


def seed_keys(url: str, count: int) -> None:
    events = (count + MARKETS_PER_EVENT - 1) // MARKETS_PER_EVENT
    with connect(url) as conn:
        conn.execute("INSERT INTO series (ticker, title, fee_type, fee_multiplier) "
                     "VALUES ('KXBENCH', 'Benchmark', 'quadratic', 0.07)")
        conn.execute("INSERT INTO events (event_ticker, series_ticker, title, mutually_exclusive) "
                     "SELECT format('KXBENCH-%%s', lpad(i::text, 5, '0')), 'KXBENCH', 'e', false "
                     "FROM generate_series(0, %s) i", (events - 1,))
        conn.execute("INSERT INTO market_tickers (ticker, event_ticker) "
                     "SELECT format('KXBENCH-%%s-M%%s', lpad((i / %s)::text, 5, '0'), lpad(i::text, 6, '0')), "
                     "format('KXBENCH-%%s', lpad((i / %s)::text, 5, '0')) FROM generate_series(0, %s) i",
                     (MARKETS_PER_EVENT, MARKETS_PER_EVENT, count - 1))
        conn.commit()


def timed_merge(url: str, rows: list[tuple], observed_at: datetime) -> tuple[float, object]:
    with connect(url) as conn:
        started = time.perf_counter()
        result = merge_snapshot(conn, MARKETS, rows, observed_at)
        conn.commit()
        return time.perf_counter() - started, result


def copy_floor(url: str, rows: list[tuple], repeats: int = 3) -> float:
    """Median seconds to COPY the same rows into an unindexed table with the same columns."""
    columns = ", ".join(MARKETS.columns)
    timings = []
    for attempt in range(repeats):
        with connect(url) as conn:
            conn.execute(f"CREATE TABLE copy_floor_{attempt} AS SELECT {columns} FROM markets WITH NO DATA")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cursor, cursor.copy(f"COPY copy_floor_{attempt} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.commit()
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def naive_merge(url: str, rows: list[tuple], observed_at: datetime) -> float:
    """One SELECT, then UPDATE + INSERT when changed, per market: the way not to do it."""
    tracked = MARKETS.tracked
    key_index, tracked_index = 0, [MARKETS.columns.index(c) for c in tracked]
    insert = (f"INSERT INTO markets ({', '.join(MARKETS.columns)}, row_start_ts) "
              f"VALUES ({', '.join(['%s'] * len(MARKETS.columns))}, %s)")
    with connect(url) as conn:
        started = time.perf_counter()
        for row in rows:
            current = conn.execute(
                f"SELECT id, {', '.join(tracked)} FROM markets WHERE ticker = %s AND row_current_ind",
                (row[key_index],)).fetchone()
            if current is not None and tuple(current[1:]) == tuple(row[i] for i in tracked_index):
                continue
            if current is not None:
                conn.execute("UPDATE markets SET row_current_ind = false, row_end_ts = %s WHERE id = %s",
                             (observed_at, current[0]))
            conn.execute(insert, (*row, observed_at))
        conn.commit()
        return time.perf_counter() - started


def dbt_executable() -> str | None:
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else shutil.which("dbt")


def write_dbt_project(directory: Path, url: str) -> None:
    """A dbt project with one snapshot of the source table ``dbt_bench.markets_source``: the
    ``check`` strategy on the merge's tracked columns, keyed by ticker; keys missing from the
    source stay current (dbt's default), as in the merge."""
    info = conninfo_to_dict(url)
    (directory / "snapshots").mkdir()
    (directory / "dbt_project.yml").write_text(
        'name: precog_bench\nversion: "1.0"\nprofile: precog_bench\nconfig-version: 2\n'
        'snapshot-paths: ["snapshots"]\n')
    (directory / "profiles.yml").write_text(json.dumps({"precog_bench": {"target": "bench", "outputs": {"bench": {
        "type": "postgres", "host": info.get("host", "127.0.0.1"), "port": int(info.get("port", 5432)),
        "user": info.get("user", "postgres"), "password": info.get("password", ""), "dbname": info["dbname"],
        "schema": DBT_SCHEMA, "threads": 1}}}}))
    (directory / "snapshots" / "markets_snapshot.sql").write_text(
        "{% snapshot markets_snapshot %}\n"
        f"{{{{ config(target_schema='{DBT_SCHEMA}', unique_key='ticker', strategy='check', "
        f"check_cols={list(MARKETS.tracked)!r}) }}}}\n"
        f"select {', '.join(MARKETS.columns)} from {DBT_SCHEMA}.markets_source\n"
        "{% endsnapshot %}\n")


def load_dbt_source(url: str, rows: list[tuple]) -> float:
    """Replace dbt's source table with ``rows``: how dbt needs a snapshot (not timed as dbt's)."""
    columns = ", ".join(MARKETS.columns)
    with connect(url) as conn:
        started = time.perf_counter()
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {DBT_SCHEMA}")
        conn.execute(f"DROP TABLE IF EXISTS {DBT_SCHEMA}.markets_source")
        conn.execute(f"CREATE TABLE {DBT_SCHEMA}.markets_source AS SELECT {columns} FROM markets WITH NO DATA")
        with conn.cursor() as cursor, cursor.copy(f"COPY {DBT_SCHEMA}.markets_source ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(f"ANALYZE {DBT_SCHEMA}.markets_source")
        conn.commit()
        return time.perf_counter() - started


def timed_dbt_snapshot(dbt: str, project: Path) -> float:
    """Wall-clock seconds of the whole ``dbt snapshot`` command."""
    environment = os.environ | {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}
    started = time.perf_counter()
    done = subprocess.run([dbt, "snapshot", "--project-dir", str(project), "--profiles-dir", str(project)],
                          capture_output=True, text=True, env=environment, cwd=project)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dbt snapshot failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def results_differ(url: str) -> dict:
    """Rows in one table's current (or closed) versions and not in the other's, both ways,
    compared on the ticker and the tracked columns."""
    columns = ", ".join(("ticker",) + MARKETS.tracked)
    ours = {"current": f"SELECT {columns} FROM markets WHERE row_current_ind",
            "closed": f"SELECT {columns} FROM markets WHERE NOT row_current_ind"}
    theirs = {"current": f"SELECT {columns} FROM {DBT_SCHEMA}.markets_snapshot WHERE dbt_valid_to IS NULL",
              "closed": f"SELECT {columns} FROM {DBT_SCHEMA}.markets_snapshot WHERE dbt_valid_to IS NOT NULL"}
    with connect(url) as conn:
        return {f"{kind}_versions_only_in_{side}": conn.execute(
            f"SELECT count(*) FROM (({one}) EXCEPT ALL ({other})) d").fetchone()[0]
            for kind in ("current", "closed")
            for side, one, other in (("ours", ours[kind], theirs[kind]), ("dbt", theirs[kind], ours[kind]))}


def dbt_side_by_side(url: str, snapshots: list[tuple[str, list[tuple]]], ours: dict[str, float]) -> dict:
    dbt = dbt_executable()
    if dbt is None:
        return {"installed": False,
                "note": "dbt is not installed: pip install -r bench/requirements-dbt.txt to compare with it"}
    version = subprocess.run([dbt, "--version"], capture_output=True, text=True).stdout.splitlines()
    figures: dict = {"installed": True, "version": "; ".join(
        " ".join(line.split()) for line in version if "installed:" in line or line.strip().startswith("- postgres"))}
    with tempfile.TemporaryDirectory(prefix="precog-bench-dbt-") as directory:
        project = Path(directory)
        write_dbt_project(project, url)
        for name, rows in snapshots:
            load_seconds = load_dbt_source(url, rows)
            seconds = timed_dbt_snapshot(dbt, project)
            figures[name] = {"dbt_snapshot_seconds": round(seconds, 3), "source_load_seconds": round(load_seconds, 3),
                             "merge_seconds": round(ours[name], 3), "dbt_over_merge": round(seconds / ours[name], 2)}
    figures["results_differ"] = results_differ(url)
    figures["equal_results"] = not any(figures["results_differ"].values())
    return figures


def one_run(args: argparse.Namespace) -> dict:
    """The floor, the three merges and (unless --no-dbt) dbt's snapshot, in one fresh database.
    Each COPY and merge gets rows built for it, as each tick parses its own: Python caches the
    hash of a str (and of a Decimal or datetime) on the object, so rows merged before would
    arrive with some work done."""
    def fresh(changed: bool) -> list[tuple]:
        return snapshot(args.markets, args.changed_fraction, changed=changed)

    with bench_database("precog_bench_scd2") as url:
        seed_keys(url, args.markets)
        floor = copy_floor(url, fresh(False))
        first_seconds, first_result = timed_merge(url, fresh(False), START)
        changed_seconds, changed_result = timed_merge(url, fresh(True), START + timedelta(minutes=5))
        # An identical snapshot changes nothing, so it can be timed again: the median of three
        # is less at the mercy of a shared machine than one run.
        identical_runs = [timed_merge(url, fresh(True), START + timedelta(minutes=10 + attempt))
                          for attempt in range(3)]
        identical_seconds = statistics.median(seconds for seconds, _ in identical_runs)
        with connect(url) as conn:
            versions = conn.execute("SELECT count(*) FROM markets").fetchone()[0]
        ours = {"first_load": first_seconds, "ten_percent_changed": changed_seconds,
                "identical_snapshot": identical_seconds}
        first, changed = fresh(False), fresh(True)
        dbt = {"skipped": "--no-dbt"} if args.no_dbt else dbt_side_by_side(
            url, [("first_load", first), ("ten_percent_changed", changed), ("identical_snapshot", changed)], ours)
    results = {"first_load": first_result, "ten_percent_changed": changed_result,
               "identical_snapshot": identical_runs[0][1]}
    return {"floor": floor, "seconds": ours, "results": results, "versions": versions, "dbt": dbt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=100_000)
    parser.add_argument("--changed-fraction", type=float, default=0.1)
    parser.add_argument("--naive", type=int, default=10_000)
    parser.add_argument("--no-dbt", action="store_true", help="skip dbt's snapshot even when installed")
    parser.add_argument("--repeats", type=int, default=1,
                        help="whole runs, each in a fresh database; figures and goals are the medians "
                             "of each run's own ratios (a shared machine moves the floor and the merges apart)")
    args = parser.parse_args()

    runs = [one_run(args) for _ in range(args.repeats)]
    names = ("first_load", "ten_percent_changed", "identical_snapshot")

    naive_first = naive_changed = None
    if args.naive:
        # The first rows of the whole snapshots, so the changed ones are those of the merges.
        first = snapshot(args.markets, args.changed_fraction, changed=False)[: args.naive]
        changed = snapshot(args.markets, args.changed_fraction, changed=True)[: args.naive]
        with bench_database("precog_bench_scd2_naive") as url:
            seed_keys(url, args.naive)
            naive_first = naive_merge(url, first, START)
            naive_changed = naive_merge(url, changed, START + timedelta(minutes=5))

    def median(values) -> float:
        return statistics.median(list(values))

    floor = median(run["floor"] for run in runs)
    seconds = {name: median(run["seconds"][name] for run in runs) for name in names}
    # Each run's merge against its own floor, then the median: never a merge of one run over
    # the floor of another.
    ratios = {name: median(run["seconds"][name] / run["floor"] for run in runs) for name in names}
    last = runs[-1]

    def figures(name: str) -> dict:
        result = last["results"][name]
        return {"seconds": round(seconds[name], 3), "rows_per_second": round(args.markets / seconds[name]),
                "ratio_to_copy_floor": round(ratios[name], 2), "inserted": result.inserted,
                "closed": result.closed, "unchanged": result.unchanged}

    goals = {"first_load_within_3x_copy": ratios["first_load"] <= 3,
             "ten_percent_changed_within_1x_copy": ratios["ten_percent_changed"] <= 1,
             "identical_snapshot_within_0.3x_copy": ratios["identical_snapshot"] <= 0.3}
    dbt = last["dbt"]
    if dbt.get("installed"):
        # From the unrounded seconds, each run's dbt over its own merge: 2.96 must not pass as 3.0.
        def dbt_over_merge(name: str) -> float:
            return median(run["dbt"][name]["dbt_snapshot_seconds"] / run["seconds"][name] for run in runs)
        dbt = dict(dbt) | {"dbt_over_merge_median": {name: round(dbt_over_merge(name), 2) for name in names}}
        goals |= {"ten_percent_changed_3x_faster_than_dbt": dbt_over_merge("ten_percent_changed") >= 3,
                  "identical_snapshot_3x_faster_than_dbt": dbt_over_merge("identical_snapshot") >= 3,
                  "equal_results_to_dbt": all(run["dbt"]["equal_results"] for run in runs)}
    print(json.dumps({
        "benchmark": "scd2_merge",
        "markets": args.markets,
        "changed": sum(map(ne, first, changed)),
        "repeats": args.repeats,
        "copy_floor_seconds": round(floor, 3),
        "copy_floor_rows_per_second": round(args.markets / floor),
        **{name: figures(name) for name in names},
        "versions_stored": last["versions"],
        "dbt_snapshot": dbt,
        "goals_met": goals,
        "runs": [{"copy_floor_seconds": round(run["floor"], 3),
                  **{name: {"seconds": round(run["seconds"][name], 3),
                            "ratio_to_copy_floor": round(run["seconds"][name] / run["floor"], 2),
                            **({"dbt_over_merge": run["dbt"][name]["dbt_over_merge"]}
                               if run["dbt"].get("installed") else {})}
                     for name in names}} for run in runs] if args.repeats > 1 else None,
        "naive_row_by_row": None if naive_first is None else {
            "markets": args.naive,
            "first_load_seconds": round(naive_first, 3),
            "first_load_rows_per_second": round(args.naive / naive_first),
            "ten_percent_changed_seconds": round(naive_changed, 3),
            "ten_percent_changed_rows_per_second": round(args.naive / naive_changed),
        },
    }, indent=2))


if __name__ == "__main__":
    main()
