"""Many settlement and exit jobs at once against one paper account (issue 18, Finding 1).

Used by the fault suite (precog_pipelines_tests/faults/test_fault_ledger_concurrency.py) and
by bench/concurrent_settlements.py. Each job is the real Dagster job (``settlement_job`` or
``position_exit_job``) run with ``execute_in_process`` in its own forked process (as Dagster's
default run launcher gives each run its own process), against one PostgreSQL warehouse and one
PostgreSQL-backed Dagster instance: the jobs' warehouse transactions overlap exactly as runs
launched side by side by the daemon would.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import dagster as dg
import psycopg

from precog_pipelines.defs.trading.jobs import position_exit_job, settlement_job
from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.strategy import load_strategy
from precog_pipelines.lib.warehouse.scd2_merge import revise_current
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.sources import KalshiResource
from precog_pipelines.resources.trading import TradingResource
from precog_pipelines.resources.warehouse import WarehouseResource

ACCOUNT = ledger.PAPER_ACCOUNT
QUANTITY = Decimal("10")
ENTRY_PRICE = Decimal("0.57")
ENTRY_FEE = Decimal("0.18")


@dataclass(frozen=True)
class Book:
    """Open positions seeded for the race: ``settle`` tickers (each with a result, waiting for
    settlement_job) and ``exit`` position keys (each on an active market bidding 0.60)."""

    settle: list[str]
    exit: list[str]
    seeded_balance: Decimal


def _market(conn: psycopg.Connection, i: int) -> tuple[str, int]:
    event, ticker = f"KXRACE-{i:03d}", f"KXRACE-{i:03d}-A"
    now = datetime.now(timezone.utc)
    conn.execute("INSERT INTO events (event_ticker, series_ticker, title, mutually_exclusive) "
                 "VALUES (%s, 'KXRACE', 'race', true)", (event,))
    conn.execute("INSERT INTO market_tickers (ticker, event_ticker) VALUES (%s, %s)", (ticker, event))
    version = conn.execute(
        "INSERT INTO markets (ticker, event_ticker, market_type, status, yes_bid, yes_ask, no_bid, no_ask, "
        "last_price, yes_bid_size, yes_ask_size, volume, volume_24h, open_interest, notional_value, open_time, "
        "close_time, row_start_ts) VALUES (%s, %s, 'binary', 'active', 0.60, 0.62, 0.38, 0.40, 0.61, 500, 500, "
        "0, 0, 0, 1, %s, %s, %s) RETURNING id",
        (ticker, event, now - timedelta(days=1), now + timedelta(days=30), now - timedelta(hours=1)),
    ).fetchone()[0]
    return ticker, version


def seed_book(conn: psycopg.Connection, settlements: int, exits: int) -> Book:
    """One market and one open paper position (10 YES at 0.57, entered through the ledger) per
    job; ``settlements`` of the markets then show a result (alternately yes and no)."""
    from psycopg.rows import dict_row

    conn.execute("INSERT INTO series (ticker, title, fee_type, fee_multiplier) "
                 "VALUES ('KXRACE', 'race', 'quadratic', 0.07)")
    seeded = conn.execute("SELECT balance FROM account_balance WHERE account_key = %s AND row_current_ind",
                          (ACCOUNT,)).fetchone()[0]
    strategy = load_strategy(conn, name="default_paper")
    game_id = conn.execute(
        "INSERT INTO games (league, external_game_id, source, season, game_date, home_team_id, away_team_id) "
        "SELECT 'nfl', '409900001', 'espn', 2026, current_date, h.id, a.id FROM teams h, teams a "
        "WHERE h.league = 'nfl' AND h.team_code = 'NYG' AND a.league = 'nfl' AND a.team_code = 'DAL' RETURNING id"
    ).fetchone()[0]
    model_id, team_id = conn.execute(
        "SELECT (SELECT id FROM probability_models WHERE model_name = 'elo_nfl' AND model_version = '1.0'), "
        "(SELECT id FROM teams WHERE league = 'nfl' AND team_code = 'DAL')").fetchone()
    settle, exit_keys = [], []
    for i in range(settlements + exits):
        ticker, version = _market(conn, i)
        with conn.cursor(row_factory=dict_row) as cursor:
            edge = cursor.execute(
                "INSERT INTO edges (ticker, side, model_id, market_version_id, game_id, team_id, model_probability, "
                "execution_price, available_size, fee_per_contract, edge, expected_value_per_dollar, "
                "calculation_run_id, row_start_ts) VALUES (%s, 'yes', %s, %s, %s, %s, 0.65, 0.57, 500, 0.0173, "
                "0.0627, 0.1068, 'race', now() - interval '1 hour') RETURNING *",
                (ticker, model_id, version, game_id, team_id)).fetchone()
        now = datetime.now(timezone.utc)
        fill = ledger.Fill(ENTRY_PRICE, QUANTITY, ENTRY_FEE, f"race-entry-{i}", None, now)
        key = ledger.open_position(conn, strategy, edge, fill, "paper", ACCOUNT, now)
        if i < settlements:
            result = "yes" if i % 2 == 0 else "no"
            revise_current(conn, "markets", {"ticker": ticker}, {
                "status": "determined", "result": result,
                "settlement_value": Decimal("1") if result == "yes" else Decimal("0")}, now)
            settle.append(ticker)
        else:
            exit_keys.append(key)
    conn.commit()
    return Book(settle, exit_keys, seeded)


def resources(warehouse_url: str) -> dict:
    kalshi = KalshiResource()
    return {"warehouse": WarehouseResource(database_url=warehouse_url), "trading": TradingResource(kalshi=kalshi)}


@dataclass(frozen=True)
class JobCall:
    """One job to run: ``settle`` a ticker or ``exit`` a position key."""

    kind: str
    target: str

    def run(self, warehouse_url: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
        if self.kind == "settle":
            return settlement_job.execute_in_process(
                run_config={"ops": {"settle_market_op": {"config": {"ticker": self.target}}}},
                resources=resources(warehouse_url), instance=instance, tags={"precog/ticker": self.target},
                raise_on_error=False)
        return position_exit_job.execute_in_process(
            run_config={"ops": {"exit_position_op": {"config": {"position_key": self.target, "rule": "stop_loss",
                                                                "priority": 1}}}},
            resources=resources(warehouse_url), instance=instance,
            tags={"precog/position": self.target, "precog/exit_rule": "stop_loss"}, raise_on_error=False)


def job_calls(book: Book) -> list[JobCall]:
    """One call per job, settlements and exits interleaved."""
    settles = [JobCall("settle", t) for t in book.settle]
    exits = [JobCall("exit", k) for k in book.exit]
    calls = [c for pair in zip(settles, exits, strict=False) for c in pair]
    return calls + settles[len(exits):] + exits[len(settles):]


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    return [str(e.event_specific_data.error.to_string()) for e in result.all_events
            if e.event_type == dg.DagsterEventType.STEP_FAILURE]


def ledger_balance(conn: psycopg.Connection, seeded: Decimal) -> Decimal:
    """The balance the ledger implies: the seeded cash, minus every entry (cost and fee), plus
    every exit (proceeds less fee), plus every settlement payout (quantity times the payout
    per contract stored as the settled position's exit price)."""
    trades = conn.execute(
        "SELECT coalesce(sum(CASE purpose WHEN 'entry' THEN -(quantity * price + fee) "
        "ELSE quantity * price - fee END), 0) FROM trades WHERE trading_mode = 'paper'").fetchone()[0]
    payouts = conn.execute(
        "SELECT coalesce(sum(quantity * exit_price), 0) FROM positions "
        "WHERE row_current_ind AND status = 'settled' AND trading_mode = 'paper'").fetchone()[0]
    return seeded + trades + payouts


def current_balance(conn: psycopg.Connection) -> Decimal:
    return conn.execute("SELECT balance FROM account_balance WHERE account_key = %s AND row_current_ind",
                        (ACCOUNT,)).fetchone()[0]


@contextmanager
def balance_row_held(warehouse_url: str) -> Iterator[None]:
    """Hold the current balance row FOR UPDATE from another session until the block ends, so
    every job reaches the balance and waits there: released together, they overlap for sure."""
    with connect(warehouse_url) as holder:
        holder.execute("SELECT 1 FROM account_balance WHERE account_key = %s AND row_current_ind FOR UPDATE",
                       (ACCOUNT,))
        try:
            yield
        finally:
            holder.rollback()


def sessions_waiting(monitor: psycopg.Connection, database: str) -> int:
    return monitor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                           (database,)).fetchone()[0]


@dataclass(frozen=True)
class Outcome:
    """What one job's run reported: success, and its step failures' error text."""

    call: JobCall
    success: bool
    failures: list[str]


def _child(call: JobCall, warehouse_url: str, instance_ref: Any, start: Any, results: Any) -> None:
    try:
        instance = dg.DagsterInstance.from_ref(instance_ref)
        start.wait()
        result = call.run(warehouse_url, instance)
        results.put(Outcome(call, result.success, failure_messages(result)))
    except BaseException as exc:  # reported to the parent, which fails the test with it
        results.put(Outcome(call, False, [f"{type(exc).__name__}: {exc}"]))


def run_all(calls: list[JobCall], warehouse_url: str, instance: dg.DagsterInstance,
            while_running: Callable[[list[Any]], None] | None = None) -> list[Outcome]:
    """Run every call in its own process (forked, as Dagster's default run launcher gives each
    run its own process), all started at once through a barrier. ``while_running`` (if given)
    runs meanwhile with the processes, e.g. to wait until all are blocked and then release them.

    Processes, not threads: Dagster reconfigures Python logging when a run starts
    (``logging.config.dictConfig``), which deadlocks against another thread's run logging.
    """
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(len(calls)), context.Queue()
    processes = [context.Process(target=_child, args=(call, warehouse_url, instance.get_ref(), start, results))
                 for call in calls]
    for process in processes:
        process.start()
    try:
        if while_running is not None:
            while_running(processes)
        outcomes = [results.get(timeout=900) for _ in calls]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    return outcomes


def wait_for_blocked(monitor: psycopg.Connection, database: str, count: int, processes: list[Any],
                     timeout: float = 600.0) -> None:
    """Poll until ``count`` sessions wait on a lock; fail at once if a job finished first (it
    never reached the held balance, so the jobs would not overlap there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sessions_waiting(monitor, database) >= count:
            return
        if any(not p.is_alive() for p in processes):
            raise AssertionError("a job ended before reaching the balance (see its outcome)")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s: {sessions_waiting(monitor, database)} of {count} "
                         "jobs waiting at the balance")
