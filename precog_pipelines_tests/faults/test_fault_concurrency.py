"""Concurrency: two materializations of the same asset at once, in two processes, store the same
rows as one run (issue 6, fault and bad-input suite)."""

from __future__ import annotations

import pytest

from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support.faults import (
    comparable_dump,
    database_name,
    finish,
    markets_locked_against_writes,
    sessions_waiting_for_a_lock,
    start_materialization,
    wait_until,
)

pytestmark = pytest.mark.slow


def test_two_runs_at_once_store_the_same_rows_as_one(
        fault_sandbox, reference_warehouse_url, fully_loaded_template, private_dagster_instance):
    database = database_name(reference_warehouse_url)
    with connect(reference_warehouse_url, autocommit=True) as monitor:
        # Both runs are held inside their write transactions, then released together: they overlap for sure.
        with markets_locked_against_writes(reference_warehouse_url):
            runs = [start_materialization(reference_warehouse_url, fault_sandbox, private_dagster_instance)
                    for _ in range(2)]
            wait_until(lambda: len(sessions_waiting_for_a_lock(monitor, database)) == 2,
                       "both runs are blocked mid-write", processes=tuple(runs))

    outcomes = [finish(run) for run in runs]

    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert comparable_dump(reference_warehouse_url) == comparable_dump(fully_loaded_template.url)
