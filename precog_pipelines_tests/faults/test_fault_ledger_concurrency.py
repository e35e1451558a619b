"""Settlement and exit jobs at once on one account, through Dagster and real PostgreSQL (issue 18,
Finding 1: money lost under concurrency), and a failed settlement requested again by its sensor.

The jobs run in processes, each the real job's ``execute_in_process`` against one warehouse and
one PostgreSQL-backed Dagster instance (support/ledger_race.py says why). Another session holds
the balance row until every job waits on it, then lets go: the jobs reach the balance together
on every run of the test, not by luck of timing.
"""

from __future__ import annotations

from decimal import Decimal as D

import dagster as dg
import pytest

from precog_pipelines.defs.trading.jobs import settlement_job
from precog_pipelines.defs.trading.sensors import MAX_ATTEMPTS, market_settlement_sensor
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines_tests.support import ledger_race as race
from precog_pipelines_tests.support.faults import database_name

pytestmark = pytest.mark.slow


def _race(warehouse_url: str, instance: dg.DagsterInstance, settlements: int, exits: int) -> None:
    with connect(warehouse_url) as conn:
        book = race.seed_book(conn, settlements, exits)
    calls = race.job_calls(book)
    with connect(warehouse_url, autocommit=True) as monitor:
        def release_when_all_wait(processes):
            with race.balance_row_held(warehouse_url):
                race.wait_for_blocked(monitor, database_name(warehouse_url), len(calls), processes)

        outcomes = race.run_all(calls, warehouse_url, instance, release_when_all_wait)

    assert [(o.call, o.failures) for o in outcomes if not o.success] == []
    assert len(outcomes) == len(calls)
    with connect(warehouse_url) as conn:
        balance = race.current_balance(conn)
        expected = race.ledger_balance(conn, book.seeded_balance)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM settlements), (SELECT count(*) FROM position_exits), "
            "(SELECT count(*) FROM positions_current WHERE status = 'open'), "
            "(SELECT count(*) FROM account_balance)").fetchone()
    # Seeded balance, one entry each, then each job's payout or proceeds: every cent accounted for.
    assert balance == expected
    assert counts == (settlements, exits, 0, 1 + 2 * (settlements + exits))
    # And the figure itself, from first principles: 10 contracts bought at 0.57 (+0.18 fee) each;
    # half the settled markets pay 1, the rest 0; an exit sells at the 0.60 bid less its fee.
    exit_fee = D("0.17")  # taker fee of 10 contracts at 0.60, multiplier 0.07, rounded up to the cent
    paid = (settlements + 1) // 2 * D("10") + exits * (D("6.00") - exit_fee)
    assert balance == book.seeded_balance - (settlements + exits) * D("5.88") + paid


def test_two_settlements_at_once_lose_no_money(warehouse_url, dagster_instance):
    """Finding 1: two settlements on different markets at once both succeed and the balance is
    the seeded balance plus both payouts (before: one failed with 'has no current version', or a
    payout was lost to a balance computed from a stale read)."""
    _race(warehouse_url, dagster_instance, settlements=2, exits=0)


def test_fifty_settlement_and_exit_jobs_at_once_lose_no_money(warehouse_url, dagster_instance):
    """Finding 1: 25 settlement and 25 exit jobs on 50 markets at once, through Dagster: all
    succeed, and the final balance equals the seeded balance plus the ledger's sum, to the cent."""
    _race(warehouse_url, dagster_instance, settlements=25, exits=25)


def _tick(warehouse_url: str, instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
    resources = race.resources(warehouse_url)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return market_settlement_sensor()(context)


def test_a_failed_settlement_is_requested_again_and_books_once(warehouse_url, private_dagster_instance,
                                                               postgres_server_url):
    """Finding 1: a settlement whose run failed for a transient reason (here: the warehouse was
    unreachable) is requested again by market_settlement_sensor under a new run key, its
    rerun books the payout, and a further run books nothing (before: the run key
    'settle:<ticker>' was spent and the position stayed open for ever)."""
    instance = private_dagster_instance
    with connect(warehouse_url) as conn:
        book = race.seed_book(conn, settlements=1, exits=0)
    [ticker] = book.settle

    first = _tick(warehouse_url, instance)
    [request] = first.run_requests
    assert request.run_key == f"settle:{ticker}"
    # The warehouse goes away for the first run: nothing listens on port 1.
    unreachable = race.resources(warehouse_url) | {
        "warehouse": WarehouseResource(database_url="postgresql://postgres@127.0.0.1:1/postgres")}
    failed = settlement_job.execute_in_process(run_config=request.run_config, resources=unreachable,
                                               instance=instance, tags=request.tags, raise_on_error=False)
    assert not failed.success

    second = _tick(warehouse_url, instance, first.cursor)
    [retry] = second.run_requests
    assert retry.run_key == f"settle:{ticker}#2" and retry.run_config == request.run_config
    for _ in range(2):  # the rerun books the payout; running it again books nothing more
        assert settlement_job.execute_in_process(run_config=retry.run_config, resources=race.resources(warehouse_url),
                                                 instance=instance, tags=retry.tags).success
    with connect(warehouse_url) as conn:
        assert race.current_balance(conn) == race.ledger_balance(conn, book.seeded_balance)
        assert race.current_balance(conn) == book.seeded_balance - D("5.88") + D("10")
        assert conn.execute("SELECT count(*) FROM settlements").fetchone()[0] == 1
    assert _tick(warehouse_url, instance, second.cursor).run_requests == []


def test_a_settlement_failing_every_time_is_requested_a_bounded_number_of_times(warehouse_url,
                                                                                 private_dagster_instance):
    """Finding 1: the re-requests stop after MAX_ATTEMPTS failed runs (the failure alert stands)."""
    instance = private_dagster_instance
    with connect(warehouse_url) as conn:
        [ticker] = race.seed_book(conn, settlements=1, exits=0).settle
    unreachable = race.resources(warehouse_url) | {
        "warehouse": WarehouseResource(database_url="postgresql://postgres@127.0.0.1:1/postgres")}
    keys, cursor = [], None
    for _ in range(MAX_ATTEMPTS + 1):
        tick = _tick(warehouse_url, instance, cursor)
        cursor = tick.cursor
        for request in tick.run_requests:
            keys.append(request.run_key)
            settlement_job.execute_in_process(run_config=request.run_config, resources=unreachable,
                                              instance=instance, tags=request.tags, raise_on_error=False)
    assert keys == [f"settle:{ticker}"] + [f"settle:{ticker}#{n}" for n in range(2, MAX_ATTEMPTS + 1)]
    assert "failed 5 times" in tick.skip_reason.skip_message
