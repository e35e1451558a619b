"""50 settlement and exit jobs at once on one paper account, through Dagster.

Usage: python bench/concurrent_settlements.py [--jobs 50]

Seeds one market and one open paper position per job (half the markets settled, half still
trading), then starts every job at once, each the real ``settlement_job`` or
``position_exit_job`` run with ``execute_in_process`` in its own forked process against one
warehouse and one PostgreSQL-backed Dagster instance (precog_pipelines_tests/support/
ledger_race.py). Prints one JSON object: jobs, wall seconds from the common start to the
last job's end, failed jobs, and balance_error = final balance minus the balance the ledger
implies (seeded cash, entries, exits, settlement payouts), which must be 0 to the cent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from _database import bench_database  # noqa: E402
from psycopg import sql  # noqa: E402

from precog_pipelines.lib.warehouse.server import connect  # noqa: E402
from precog_pipelines.lib.warehouse.urls import with_database  # noqa: E402
from precog_pipelines_tests.support import ledger_race as race  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    with bench_database("precog_bench_ledger") as url:
        dagster_db = f"precog_bench_dagster_{os.getpid()}"
        admin = with_database(url, "postgres")
        with connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dagster_db)))
        home = Path(tempfile.mkdtemp(prefix="precog_bench_dagster_"))
        try:
            shutil.copyfile(ROOT.parent / "dagster.yaml", home / "dagster.yaml")
            os.environ["DAGSTER_PG_URL"] = with_database(url, dagster_db)
            instance = dg.DagsterInstance.from_config(str(home))
            with connect(url) as conn:
                book = race.seed_book(conn, settlements=(args.jobs + 1) // 2, exits=args.jobs // 2)
            calls = race.job_calls(book)
            started = time.perf_counter()
            outcomes = race.run_all(calls, url, instance)
            seconds = time.perf_counter() - started
            instance.dispose()
            with connect(url) as conn:
                error = race.current_balance(conn) - race.ledger_balance(conn, book.seeded_balance)
        finally:
            shutil.rmtree(home, ignore_errors=True)
            with connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dagster_db)))
    print(json.dumps({
        "benchmark": "concurrent_settlements",
        "jobs": len(calls),
        "settlement_jobs": len(book.settle),
        "exit_jobs": len(book.exit),
        "seconds": round(seconds, 2),
        "failures": sum(not o.success for o in outcomes),
        "balance_error": str(error.quantize(Decimal("0.0001"))),
    }))


if __name__ == "__main__":
    main()
