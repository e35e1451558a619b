"""Every SQL asset check, run through Dagster on real PostgreSQL: it passes on clean history and
fails on a violating row planted for it. Some violations are exactly what a constraint or trigger
prevents, so the test drops that guard first: the checks are the second line of defence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import dagster as dg
import psycopg
import pytest

from precog_pipelines.defs.edges import checks as edge_checks
from precog_pipelines.defs.espn import checks as game_checks
from precog_pipelines.defs.kalshi import checks as market_checks
from precog_pipelines.defs.trading import checks as trading_checks
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.factories import NOW
from precog_pipelines_tests.support.warehouse_checks import execute_checks

H = timedelta(hours=1)
DAL = "KXNFLGAME-26SEP13DALNYG-DAL"


def _run_checks(url: str, instance: dg.DagsterInstance, checks: list[dg.AssetChecksDefinition]) -> dict[str, bool]:
    return {e.check_name: e.passed for e in execute_checks(url, instance, checks, raise_on_error=False)}


# ---- base histories, each valid ------------------------------------------------------------

def market_history(db: psycopg.Connection) -> None:
    f.series(db)
    f.event(db)
    f.market_ticker(db)
    f.market_version(db, row_current_ind=False, row_start_ts=NOW - 2 * H, row_end_ts=NOW - H, status="initialized")
    f.market_version(db, row_current_ind=False, row_start_ts=NOW - H, row_end_ts=NOW)
    f.market_version(db, yes_bid=Decimal("0.5600"))


def game_history(db: psycopg.Connection) -> None:
    f.game(db)
    f.game_state(db, state="pre", status_name="STATUS_SCHEDULED", home_score=0, away_score=0, period=0,
                 clock_seconds=Decimal("0"), row_current_ind=False, row_start_ts=NOW - 3 * H, row_end_ts=NOW - 2 * H)
    f.game_state(db, period=1, clock_seconds=Decimal("900"), home_score=0, away_score=0, row_current_ind=False,
                 row_start_ts=NOW - 2 * H, row_end_ts=NOW - H)
    f.game_state(db, period=2, clock_seconds=Decimal("600"), row_current_ind=False, row_start_ts=NOW - H,
                 row_end_ts=NOW)
    f.game_state(db)  # period 2, clock 462, 7-3


def edge_history(db: psycopg.Connection) -> None:
    f.edge(db, row_current_ind=False, row_start_ts=NOW - H, row_end_ts=NOW)
    f.edge(db, row_start_ts=NOW + H)  # retired for an hour, then back: allowed for edges


def position_history(db: psycopg.Connection) -> None:
    f.market(db)
    position = f.position(db, row_current_ind=False, row_start_ts=NOW, row_end_ts=NOW + H)
    f.insert(db, "positions", {**_position_row(db, position), "status": "closed", "closed_at": NOW + H,
                               "exit_reason": "manual", "realized_pnl": Decimal("1"), "row_start_ts": NOW + H})
    f.trade(db, position)
    _exit_fill(db, position, "exit-1", Decimal("10.00"), Decimal("1"))


def _exit_fill(db: psycopg.Connection, position_id: int, order: str, quantity: Decimal, realized: Decimal) -> None:
    trade_id = f.trade(db, position_id, purpose="exit", action="sell", book_side="ask", client_order_id=order,
                       quantity=quantity, price=Decimal("0.6800"), fee=Decimal("0.1600"), executed_at=NOW + H)
    f.insert(db, "position_exits", {"position_key": "pos-1", "position_id": position_id,
                                    "ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "exit_reason": "manual",
                                    "quantity": quantity, "exit_price": Decimal("0.6800"), "fee": Decimal("0.1600"),
                                    "realized_pnl": realized, "trade_id": trade_id, "attempts": 1,
                                    "exited_at": NOW + H})


def _second_exit_fill(db: psycopg.Connection) -> None:
    """An exit row more than the closed position sold (two parts of 10 for 10 contracts)."""
    position_id = db.execute("SELECT min(id) FROM positions").fetchone()[0]
    _exit_fill(db, position_id, "exit-2", Decimal("10.00"), Decimal("1"))


def _position_row(db: psycopg.Connection, position_id: int) -> dict:
    from psycopg.rows import dict_row

    with db.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute("SELECT * FROM positions WHERE id = %s", (position_id,)).fetchone()
    return {k: v for k, v in row.items() if k not in ("id", "row_current_ind", "row_start_ts", "row_end_ts")}


def balance_history(db: psycopg.Connection) -> None:
    start = db.execute("SELECT row_start_ts FROM account_balance").fetchone()[0]
    db.execute("UPDATE account_balance SET row_current_ind = false, row_end_ts = %s", (start + H,))
    f.insert(db, "account_balance", {"account_key": "kalshi:paper", "trading_mode": "paper", "balance": 990,
                                     "change_reason": "trade", "row_start_ts": start + H})


# ---- violations ------------------------------------------------------------------------------

def _sql(*statements: str) -> Callable[[psycopg.Connection], None]:
    def plant(db: psycopg.Connection) -> None:
        for statement in statements:
            db.execute(statement)
    return plant


def _second_current(table: str, key_index: str) -> Callable[[psycopg.Connection], None]:
    """A copy of the current version, also current, a minute later."""
    def plant(db: psycopg.Connection) -> None:
        db.execute(f"DROP INDEX {key_index}")
        db.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")  # <table>_versions_do_not_overlap (sql/0064)
        columns = [r[0] for r in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND identity_generation IS NULL ORDER BY ordinal_position", (table,))]
        later = "row_start_ts + make_interval(mins => 1)"
        copied = ", ".join(later if c == "row_start_ts" else c for c in columns)
        db.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {copied} FROM {table} "
                   "WHERE row_current_ind LIMIT 1")
    return plant


def _current_with_end(table: str, constraint: str) -> Callable[[psycopg.Connection], None]:
    return _sql(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}",
                f"ALTER TABLE {table} DISABLE TRIGGER USER",
                f"UPDATE {table} SET row_end_ts = row_start_ts + interval '1 day' WHERE row_current_ind")


def _overlap(table: str) -> Callable[[psycopg.Connection], None]:
    # Stretch the first closed version past the start of the next one.
    return _sql(f"ALTER TABLE {table} DISABLE TRIGGER USER",
                f"UPDATE {table} SET row_end_ts = row_end_ts + interval '30 minutes' "
                f"WHERE id = (SELECT min(id) FROM {table} WHERE NOT row_current_ind)")


def _gap(table: str) -> Callable[[psycopg.Connection], None]:
    return _sql(f"ALTER TABLE {table} DISABLE TRIGGER USER",
                f"UPDATE {table} SET row_end_ts = row_end_ts - interval '30 minutes' "
                f"WHERE id = (SELECT min(id) FROM {table} WHERE NOT row_current_ind)")


CASES = [
    # (base history, checks module, check name, plant the violation)
    (market_history, market_checks, "one_current_version_per_key", _second_current("markets", "markets_one_current_uq")),
    (market_history, market_checks, "validity_timestamps_consistent", _current_with_end("markets", "markets_validity_ck")),
    (market_history, market_checks, "versions_do_not_overlap", _overlap("markets")),
    (market_history, market_checks, "versions_have_no_gaps", _gap("markets")),
    (market_history, market_checks, "prices_within_unit_interval",
     _sql("ALTER TABLE markets DROP CONSTRAINT markets_last_price_check",
          "ALTER DOMAIN price DROP CONSTRAINT price_between_0_and_1", "ALTER TABLE markets DISABLE TRIGGER USER",
          "UPDATE markets SET last_price = 1.5 WHERE row_current_ind")),
    (market_history, market_checks, "yes_bid_not_above_yes_ask",
     _sql("ALTER TABLE markets DISABLE TRIGGER USER", "UPDATE markets SET yes_bid = 0.9 WHERE row_current_ind")),
    (market_history, market_checks, "determined_markets_have_a_result",
     _sql("ALTER TABLE markets DISABLE TRIGGER USER", "UPDATE markets SET status = 'finalized' WHERE row_current_ind")),
    (market_history, market_checks, "closed_markets_do_not_reopen",
     _sql("ALTER TABLE markets DISABLE TRIGGER USER",
          "UPDATE markets SET status = 'closed' WHERE id = (SELECT min(id) FROM markets)")),
    (game_history, game_checks, "one_current_version_per_key",
     _second_current("game_states", "game_states_one_current_uq")),
    (game_history, game_checks, "validity_timestamps_consistent",
     _current_with_end("game_states", "game_states_validity_ck")),
    (game_history, game_checks, "versions_do_not_overlap", _overlap("game_states")),
    (game_history, game_checks, "versions_have_no_gaps", _gap("game_states")),
    (game_history, game_checks, "final_scores_never_change",
     _sql("ALTER TABLE game_states DISABLE TRIGGER USER",
          "UPDATE game_states SET state = 'post', status_name = 'STATUS_FINAL', completed = true "
          "WHERE row_start_ts = (SELECT max(row_start_ts) FROM game_states WHERE NOT row_current_ind)",
          "UPDATE game_states SET home_score = 10 WHERE row_current_ind")),
    (game_history, game_checks, "scores_never_decrease",
     _sql("ALTER TABLE game_states DISABLE TRIGGER USER", "UPDATE game_states SET away_score = 0 WHERE row_current_ind")),
    (game_history, game_checks, "period_and_clock_move_forward",
     _sql("ALTER TABLE game_states DISABLE TRIGGER USER",
          "UPDATE game_states SET clock_seconds = 800 WHERE row_current_ind")),
    (edge_history, edge_checks, "one_current_version_per_key", _second_current("edges", "edges_one_current_uq")),
    (edge_history, edge_checks, "validity_timestamps_consistent", _current_with_end("edges", "edges_validity_ck")),
    (edge_history, edge_checks, "versions_do_not_overlap",
     _sql("ALTER TABLE edges DISABLE TRIGGER USER",
          "UPDATE edges SET row_end_ts = row_end_ts + interval '2 hours' WHERE NOT row_current_ind")),
    (edge_history, edge_checks, "probabilities_strictly_between_0_and_1",
     _sql("ALTER TABLE edges DROP CONSTRAINT edges_model_probability_check", "ALTER TABLE edges DISABLE TRIGGER USER",
          "UPDATE edges SET model_probability = 1 WHERE row_current_ind")),
    (edge_history, edge_checks, "edge_is_probability_minus_price_minus_fee",
     _sql("ALTER TABLE edges DISABLE TRIGGER USER", "UPDATE edges SET edge = 0.0700 WHERE row_current_ind")),
    (edge_history, edge_checks, "every_edge_game_exists",
     _sql("ALTER TABLE edges DROP CONSTRAINT edges_game_id_fkey", "ALTER TABLE edges DISABLE TRIGGER USER",
          "UPDATE edges SET game_id = 999999 WHERE row_current_ind")),
    (position_history, trading_checks, "one_current_version_per_key",
     _second_current("positions", "positions_one_current_uq")),
    (position_history, trading_checks, "validity_timestamps_consistent",
     _current_with_end("positions", "positions_validity_ck")),
    (position_history, trading_checks, "versions_do_not_overlap", _overlap("positions")),
    (position_history, trading_checks, "versions_have_no_gaps", _gap("positions")),
    (position_history, trading_checks, "every_position_market_exists",
     _sql("ALTER TABLE markets DISABLE TRIGGER USER", "ALTER TABLE edges DROP CONSTRAINT edges_market_version_id_fkey",
          "DELETE FROM markets")),
    (position_history, trading_checks, "position_exits_add_up", _second_exit_fill),
]
BALANCE_CASES = [
    ("one_current_version_per_key", _second_current("account_balance", "account_balance_one_current_uq")),
    ("validity_timestamps_consistent", _current_with_end("account_balance", "account_balance_validity_ck")),
    ("versions_do_not_overlap", _overlap("account_balance")),
    ("versions_have_no_gaps", _gap("account_balance")),
]


def _checks_of(module, asset: str) -> dict[str, dg.AssetChecksDefinition]:
    """The module's checks of ``asset``, as the code location collects them (lists included)."""
    found = {}
    for value in vars(module).values():
        for check in (value if isinstance(value, list) else [value]):
            if isinstance(check, dg.AssetChecksDefinition):
                for key in check.check_keys:
                    if key.asset_key.to_user_string() == asset:
                        found[key.name] = check
    return found


ASSET_OF = {market_history: "kalshi_markets", game_history: "game_states", edge_history: "edges",
            position_history: "positions"}


@pytest.mark.parametrize("history,module", [(market_history, market_checks), (game_history, game_checks),
                                            (edge_history, edge_checks), (position_history, trading_checks)],
                         ids=["markets", "game_states", "edges", "positions"])
def test_every_check_passes_on_clean_history(warehouse_url, db, private_dagster_instance, history, module):
    # A private instance: the row-count checks compare with the last count the instance recorded,
    # and other tests' runs on the shared instance counted other databases.
    history(db)
    checks = _checks_of(module, ASSET_OF[history])
    outcome = _run_checks(warehouse_url, private_dagster_instance, list(checks.values()))
    assert outcome == {name: True for name in checks}


@pytest.mark.parametrize("history,module,check,plant", CASES,
                         ids=[f"{ASSET_OF[c[0]]}:{c[2]}" for c in CASES])
def test_each_check_fails_on_its_violation(warehouse_url, db, dagster_instance, history, module, check, plant):
    history(db)
    plant(db)
    outcome = _run_checks(warehouse_url, dagster_instance, [_checks_of(module, ASSET_OF[history])[check]])
    assert outcome == {check: False}


def test_balance_checks_pass_then_fail_on_each_violation(warehouse_url, postgres_server_url, migrated_template,
                                                          dagster_instance):
    from precog_pipelines.lib.warehouse.server import connect
    from precog_pipelines_tests.conftest import create_database, drop_database, unique_name

    # The SCD Type 2 checks; the ledger rule has its own test (test_trading_jobs.py): this history
    # has a balance change with no trade behind it.
    checks = {name: check for name, check in _checks_of(trading_checks, "account_balance").items()
              if name != "paper_balance_follows_the_ledger"}
    with connect(warehouse_url, autocommit=True) as db:
        balance_history(db)
    assert _run_checks(warehouse_url, dagster_instance, list(checks.values())) == {n: True for n in checks}
    for name, plant in BALANCE_CASES:
        database = unique_name("precog_test_balance")
        url = create_database(postgres_server_url, database, template=migrated_template)
        try:
            with connect(url, autocommit=True) as db:
                balance_history(db)
                plant(db)
            assert _run_checks(url, dagster_instance, [checks[name]]) == {name: False}, name
        finally:
            drop_database(postgres_server_url, database)


def test_append_only_counts_never_decrease(warehouse_url, db, private_dagster_instance):
    position_history(db)
    check = _checks_of(trading_checks, "positions")["trades_row_count_never_decreases"]
    assert _run_checks(warehouse_url, private_dagster_instance, [check]) == {"trades_row_count_never_decreases": True}
    f.trade(db, db.execute("SELECT min(id) FROM positions").fetchone()[0], client_order_id="order-2")
    assert _run_checks(warehouse_url, private_dagster_instance, [check]) == {"trades_row_count_never_decreases": True}

    db.execute("ALTER TABLE trades DISABLE TRIGGER USER")
    db.execute("DELETE FROM trades WHERE client_order_id = 'order-2'")
    assert _run_checks(warehouse_url, private_dagster_instance, [check]) == {"trades_row_count_never_decreases": False}
