"""Crash safety: a materialization killed with SIGKILL in the middle of its merge leaves the
warehouse exactly as it was, and the next run completes (issue 6, fault and bad-input suite)."""

from __future__ import annotations

import pytest

from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support.faults import (
    comparable_dump,
    database_name,
    failure_text,
    fault_resources,
    kalshi_markets,
    markets_locked_against_writes,
    materialize,
    other_sessions,
    sessions_waiting_for_a_lock,
    sigkill,
    start_materialization,
    wait_until,
    warehouse_dump,
)

pytestmark = pytest.mark.slow


def _holds_write_lock(monitor, pid: int, table: str) -> bool:
    return monitor.execute(
        "SELECT count(*) FROM pg_locks WHERE pid = %s AND relation = %s::regclass "
        "AND mode = 'RowExclusiveLock' AND granted", (pid, table)).fetchone()[0] == 1


def test_a_run_killed_mid_merge_leaves_the_warehouse_as_it_was(
        fault_sandbox, kalshi_key, reference_warehouse_url, fully_loaded_template, private_dagster_instance):
    database = database_name(reference_warehouse_url)
    before = warehouse_dump(reference_warehouse_url)
    with connect(reference_warehouse_url, autocommit=True) as monitor:
        with markets_locked_against_writes(reference_warehouse_url):
            run = start_materialization(reference_warehouse_url, fault_sandbox, private_dagster_instance)
            [pid] = wait_until(lambda: sessions_waiting_for_a_lock(monitor, database),
                               "the merge blocks on markets", processes=(run,))
            # Mid-merge: the snapshot is hashed and the new tickers are registered, uncommitted.
            assert _holds_write_lock(monitor, pid, "market_tickers")
            assert monitor.execute("SELECT count(*) FROM market_tickers").fetchone()[0] == 0

            sigkill(run)

        # The lock is gone; the orphaned server session notices its client died and rolls back.
        wait_until(lambda: pid not in other_sessions(monitor, database), "the killed run's session ends")
    assert run.returncode == -9
    assert warehouse_dump(reference_warehouse_url) == before

    again = materialize([kalshi_markets], fault_resources(reference_warehouse_url, fault_sandbox, kalshi_key),
                        private_dagster_instance)

    assert again.success, failure_text(again)
    assert comparable_dump(reference_warehouse_url) == comparable_dump(fully_loaded_template.url)
