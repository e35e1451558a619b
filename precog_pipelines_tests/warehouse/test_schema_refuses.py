"""The schema refuses what it cannot store exactly and never lets history be rewritten
(issue 18, findings 4 and 5). Each refused write names the rule it broke and stores nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors

from precog_pipelines.lib.ingest.rejects import NUMERIC_DOMAINS, numeric_limits
from precog_pipelines.lib.warehouse.tables import SCD2_TABLES
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.factories import NOW

DAL = "KXNFLGAME-26SEP13DALNYG-DAL"
NYG = "KXNFLGAME-26SEP13DALNYG-NYG"


def _count(db: psycopg.Connection, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _refused(db: psycopg.Connection, error: type[Exception], match: str, write, table: str) -> None:
    """``write`` fails with ``error`` naming ``match``, and ``table`` holds what it held before."""
    before = _count(db, table)
    with db.transaction(), pytest.raises(error, match=match):
        write()
    assert _count(db, table) == before


# --- Finding 4: prices with more than four decimals or outside 0..1 are refused, not rounded ------

def test_trade_price_with_a_fifth_decimal_is_refused_not_rounded(db):
    """Finding 4: trades.price 1.00001 was stored as 1.0000."""
    f.market(db)
    position = f.position(db)
    _refused(db, errors.CheckViolation, "price_at_most_4_decimals",
             lambda: f.trade(db, position, price=Decimal("1.00001")), "trades")
    assert _count(db, "trades") == 0


@pytest.mark.parametrize("value,rule", [
    (Decimal("1.00001"), "price_at_most_4_decimals"),
    (Decimal("-0.00004"), "price_"),  # both rules refuse it; either may be reported first
    (Decimal("0.12345"), "price_at_most_4_decimals"),
    (Decimal("1.0001"), "price_between_0_and_1"),
    (Decimal("NaN"), "price_between_0_and_1"),
    (Decimal("Infinity"), "price_between_0_and_1"),
    (Decimal("-Infinity"), "price_between_0_and_1"),
])
def test_market_yes_bid_that_numeric_10_4_would_round_is_refused(db, value, rule):
    """Finding 4: markets.yes_bid 1.00001, -0.00004 and 0.12345 were accepted (rounded)."""
    f.market(db)
    f.market_ticker(db, ticker=NYG)
    _refused(db, errors.CheckViolation, rule, lambda: f.market_version(db, ticker=NYG, yes_bid=value), "markets")
    assert db.execute("SELECT count(*) FROM markets WHERE ticker = %s", (NYG,)).fetchone()[0] == 0


def test_prices_are_stored_at_four_decimals_as_numeric_10_4_stored_them(db):
    """Finding 4: the exact domain refuses, it does not change what a valid price reads back as."""
    f.market(db)
    f.market_ticker(db, ticker=NYG)
    f.market_version(db, ticker=NYG, yes_bid=Decimal("0.5"), no_ask=Decimal("1"), last_price=Decimal("0"),
                     settlement_value=None)
    row = db.execute("SELECT yes_bid, no_ask, last_price, settlement_value FROM markets WHERE ticker = %s",
                     (NYG,)).fetchone()
    assert [str(v) if v is not None else None for v in row] == ["0.5000", "1.0000", "0.0000", None]
    view = db.execute("SELECT yes_bid FROM markets_current WHERE ticker = %s", (NYG,)).fetchone()[0]
    assert str(view) == "0.5000"


# --- Finding 4: NaN and the infinities are refused in every numeric column ------------------------

def test_nan_volume_is_refused(db):
    """Finding 4: NaN was accepted in markets.volume (NaN sorts above every number, so volume >= 0 held)."""
    f.market(db)
    f.market_ticker(db, ticker=NYG)
    _refused(db, errors.CheckViolation, "markets_volume_finite",
             lambda: f.market_version(db, ticker=NYG, volume=Decimal("NaN")), "markets")


def test_nan_balance_is_refused(db):
    """Finding 4: NaN was accepted in account_balance.balance."""
    _refused(db, errors.CheckViolation, "account_balance_balance_finite",
             lambda: f.insert(db, "account_balance", {"account_key": "kalshi:demo", "trading_mode": "live",
                                                       "balance": Decimal("NaN"), "change_reason": "initial"}),
             "account_balance")


@pytest.mark.parametrize("column", ["quantity", "fee"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_trade_quantity_and_fee_are_refused(db, column, value):
    """Finding 4: NaN was accepted in trades.quantity and trades.fee. (An infinity already overflowed
    numeric(18,2) and numeric(18,4): NumericValueOutOfRange rather than the check.)"""
    f.market(db)
    position = f.position(db)
    error = errors.CheckViolation if value == "NaN" else (errors.CheckViolation, errors.NumericValueOutOfRange)
    with db.transaction(), pytest.raises(error):
        f.trade(db, position, **{column: Decimal(value)})
    assert _count(db, "trades") == 0


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_unconstrained_numeric_columns_refuse_nan_and_infinities(db, value):
    """Finding 4: columns without a typmod (model_evaluations scores) took Infinity as well as NaN."""
    market_model = db.execute("SELECT id FROM market_probability_models LIMIT 1").fetchone()[0]
    row = {"season": 2020, "source": "market", "market_model_id": market_model, "games": 10,
           "brier_score": Decimal("0.2"), "accuracy": Decimal("0.6"), "calibration": "[]"}
    # log_loss >= 0 already refused -Infinity; the differences with the market had no check at all.
    for column in ("log_loss", "brier_minus_market", "accuracy_minus_market") if value != "-Infinity" else (
            "brier_minus_market", "log_loss_minus_market", "accuracy_minus_market"):
        _refused(db, errors.CheckViolation, f"model_evaluations_{column}_finite",
                 lambda column=column: f.insert(db, "model_evaluations", row | {column: Decimal(value)}),
                 "model_evaluations")


def _numeric_columns(db: psycopg.Connection) -> list[tuple[str, str, str | None]]:
    return db.execute(
        "SELECT c.table_name, c.column_name, c.domain_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.data_type = 'numeric' "
        "ORDER BY 1, 2").fetchall()


def test_every_numeric_column_refuses_nan_and_infinities(db):
    """Finding 4, for every numeric column of every table (a new migration's columns included): each
    is a refusing domain or carries the <table>_<column>_finite check."""
    columns = _numeric_columns(db)
    assert len(columns) >= 70
    checks = {name: definition for name, definition in db.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c'").fetchall()}
    uncovered = [f"{table}.{column}" for table, column, domain in columns
                 if domain not in NUMERIC_DOMAINS
                 and "'NaN'" not in checks.get(f"{table}_{column}_finite", "")]
    assert uncovered == []
    for domain in {d for _, _, d in columns if d is not None}:
        for value in ("NaN", "Infinity", "-Infinity"):
            with db.transaction(), pytest.raises(errors.CheckViolation):
                db.execute(f"SELECT %s::numeric::{domain}", (value,))


def test_every_price_column_is_the_exact_price_domain(db):
    """Finding 4: every price is a `price` (numeric(10,4) exactly, 0..1), and the ingest's per-row
    limits read it as numeric(10,4) in 0..1, so a bad price costs one row, not the batch."""
    columns = _numeric_columns(db)
    prices = [(t, c, d) for t, c, d in columns
              if "price" in c or c in ("yes_bid", "yes_ask", "no_bid", "no_ask", "settlement_value",
                                       "trailing_stop_distance", "half_spread")]
    prices = [p for p in prices if p[1] != "fee_per_contract"]  # a fee, not a price: numeric(10,4)
    assert len(prices) >= 20
    assert [p for p in prices if p[2] != "price"] == []
    limit = numeric_limits(db, "markets")["yes_bid"]
    assert (limit.precision, limit.scale) == (10, 4)
    assert limit.problem("yes_bid", Decimal("0.12345")) is not None
    assert limit.problem("yes_bid", Decimal("1.0001")) is not None
    assert limit.problem("yes_bid", Decimal("0.1234")) is None


# --- Finding 5: SCD Type 2 history cannot be deleted, truncated or overlapped --------------------

def _one_version(db: psycopg.Connection, table: str) -> int:
    """A current version of ``table``'s first key; returns its id."""
    if table == "markets":
        f.market(db)
    elif table == "game_states":
        f.game(db)
        f.game_state(db)
    elif table == "edges":
        f.edge(db)
    elif table == "positions":
        f.market(db)
        f.position(db)
    elif table == "exchange_orders":
        f.insert(db, "exchange_orders", {
            "account_key": "kalshi:demo", "order_id": "sbx-1", "status": "executed", "fill_count": 1,
            "remaining_count": 0, "taker_fill_cost": Decimal("0.57"), "maker_fill_cost": 0, "taker_fees": Decimal("0.02"),
            "maker_fees": 0, "ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "outcome_side": "yes", "book_side": "bid",
            "order_type": "limit", "yes_price": Decimal("0.57"), "initial_count": 1, "row_start_ts": NOW})
    elif table == "exchange_positions":
        f.insert(db, "exchange_positions", {
            "account_key": "kalshi:demo", "ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "position": 1,
            "market_exposure": Decimal("0.57"), "realized_pnl": 0, "fees_paid": Decimal("0.02"), "total_traded": 1,
            "row_start_ts": NOW})
    # account_balance: the paper account's initial balance (sql/0030) is already there.
    return db.execute(f"SELECT min(id) FROM {table} WHERE row_current_ind").fetchone()[0]


@pytest.mark.parametrize("table", [t.name for t in SCD2_TABLES])
def test_scd2_versions_cannot_be_deleted(db, table):
    """Finding 5: rows of SCD2 history (account_balance, current markets versions) could be deleted."""
    version = _one_version(db, table)
    _refused(db, errors.RestrictViolation, f"{table} is append-only: DELETE is not allowed",
             lambda: db.execute(f"DELETE FROM {table} WHERE id = %s", (version,)), table)


@pytest.mark.parametrize("table", [t.name for t in SCD2_TABLES])
def test_scd2_tables_cannot_be_truncated(db, table):
    """Finding 5: account_balance and game_states could be truncated."""
    _one_version(db, table)
    _refused(db, errors.RestrictViolation, f"{table} is append-only: TRUNCATE is not allowed",
             lambda: db.execute(f"TRUNCATE {table} CASCADE"), table)


def _insertable_columns(db: psycopg.Connection, table: str) -> list[str]:
    """``table``'s columns an INSERT may name (all but the identity), in order."""
    return [r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s AND identity_generation IS NULL ORDER BY ordinal_position", (table,))]


def _copy_version(db: psycopg.Connection, table: str, version: int, start: str, end: str | None) -> None:
    """Insert a copy of ``version`` spanning [start, end) (SQL expressions over the copied row)."""
    columns = _insertable_columns(db, table)
    values = {"row_start_ts": start, "row_end_ts": end or "NULL",
              "row_current_ind": "false" if end else "true"}
    copied = ", ".join(values.get(c, c) for c in columns)
    db.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {copied} FROM {table} WHERE id = %s",
               (version,))


@pytest.mark.parametrize("table", [t.name for t in SCD2_TABLES])
def test_scd2_closed_version_overlapping_another_is_refused(db, table):
    """Finding 5: a closed version overlapping the current one could be inserted."""
    version = _one_version(db, table)
    before = _count(db, table)
    with db.transaction(), pytest.raises(errors.ExclusionViolation,
                                         match=f"{table}: a version from .* overlaps version id {version} ") as refused:
        _copy_version(db, table, version, "row_start_ts - interval '1 day'", "row_start_ts + interval '1 hour'")
    assert refused.value.diag.constraint_name == f"{table}_versions_do_not_overlap"
    assert _count(db, table) == before


@pytest.mark.parametrize("table", [t.name for t in SCD2_TABLES])
def test_scd2_versions_that_touch_are_accepted(db, table):
    """Finding 5's constraint leaves normal history alone: a version ending when the next starts."""
    version = _one_version(db, table)
    _copy_version(db, table, version, "row_start_ts - interval '1 day'", "row_start_ts")
    assert db.execute(f"SELECT count(*) FROM {table} WHERE NOT row_current_ind").fetchone()[0] == 1


def test_scd2_overlap_is_per_business_key(db):
    """Finding 5: the exclusion is per key; another market's versions may span the same time."""
    f.market(db)
    f.market_ticker(db, ticker=NYG)
    f.market_version(db, ticker=NYG, row_current_ind=False, row_start_ts=NOW - timedelta(days=1),
                     row_end_ts=NOW + timedelta(hours=1))
    assert _count(db, "markets") == 2


# --- existing warehouses migrate with their data unchanged ---------------------------------------

def test_a_warehouse_with_history_migrates_and_reads_the_same(empty_database_url, tmp_path):
    """Findings 4 and 5 on a warehouse that already holds prices, balances and history: the
    migrations keep every row, and prices read back as the same Decimals, at scale 4."""
    from precog_pipelines.lib.warehouse import migrations
    from precog_pipelines.lib.warehouse.server import connect

    before = tmp_path / "before"
    before.mkdir()
    for migration in migrations.discover(migrations.default_sql_dir()):
        if migration.version < 40:
            (before / migration.path.name).write_bytes(migration.path.read_bytes())
    migrations.upgrade(empty_database_url, before)
    with connect(empty_database_url) as conn:
        f.market(conn)
        f.market_version(conn, row_current_ind=False, row_start_ts=NOW - timedelta(days=1), row_end_ts=NOW,
                         yes_bid=Decimal("0.1235"))
        position = f.position(conn)
        f.trade(conn, position, price=Decimal("0.99"))
        snapshot = {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                    for t in ("markets", "positions", "trades", "account_balance")}

    migrations.upgrade(empty_database_url)
    with connect(empty_database_url) as conn:
        after = {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in snapshot}
        assert after == snapshot
        assert [str(p) for p, in conn.execute("SELECT price FROM trades")] == ["0.9900"]
        assert [str(p) for p, in conn.execute("SELECT yes_bid FROM markets ORDER BY id")] == ["0.5500", "0.1235"]


@pytest.mark.parametrize("table", [t.name for t in SCD2_TABLES])
def test_scd2_current_version_starting_inside_a_closed_one_is_refused(db, table):
    """The statement-level guard (sql/0142): a current version may not start before the end of
    the key's latest version; the whole statement is refused, with the row guard's constraint name."""
    version = _one_version(db, table)
    db.execute(f"UPDATE {table} SET row_current_ind = false, row_end_ts = row_start_ts + interval '1 hour' "
               "WHERE id = %s", (version,))
    before = _count(db, table)
    with db.transaction(), pytest.raises(errors.ExclusionViolation,
                                         match=f"{table}: a version from .* overlaps version id {version} ") as refused:
        _copy_version(db, table, version, "row_start_ts + interval '30 minutes'", None)
    assert refused.value.diag.constraint_name == f"{table}_versions_do_not_overlap"
    assert _count(db, table) == before
    _copy_version(db, table, version, "row_start_ts + interval '1 hour'", None)  # where the closed one ends
    assert _count(db, table) == before + 1


# --- A market version's ticker and event, checked once per statement (sql/0144) ----------------

@pytest.mark.parametrize("ticker,event", [
    ("KXNFLGAME-26SEP13DALNYG-XXX", "KXNFLGAME-26SEP13DALNYG"),  # a ticker never registered
    (NYG, "KXNFLGAME-26SEP20NYGDAL"),  # a registered ticker under another event than its own
], ids=["unknown-ticker", "other-event"])
def test_a_statement_with_one_version_of_an_unregistered_pair_is_refused_whole(db, ticker, event):
    """What the foreign key refused, refused at the end of the statement: of two versions inserted
    together, one names a (ticker, event_ticker) market_tickers does not hold; neither is stored,
    and the error is the foreign key's, with its constraint name and the pair."""
    f.market(db)
    f.market_ticker(db, ticker=NYG)
    f.market_ticker(db, ticker="KXNFLGAME-26SEP13DALNYG-TIE")
    columns = [c for c in _insertable_columns(db, "markets") if c not in ("ticker", "event_ticker")]
    before = _count(db, "markets")

    with db.transaction(), pytest.raises(errors.ForeignKeyViolation, match="markets_ticker_event_fkey") as refused:
        db.execute(f"INSERT INTO markets (ticker, event_ticker, {', '.join(columns)}) "
                   f"SELECT p.ticker, p.event_ticker, {', '.join('m.' + c for c in columns)} "
                   "FROM markets m CROSS JOIN (VALUES ('KXNFLGAME-26SEP13DALNYG-TIE', 'KXNFLGAME-26SEP13DALNYG'), "
                   "(%s, %s)) AS p (ticker, event_ticker)", (ticker, event))

    assert refused.value.diag.constraint_name == "markets_ticker_event_fkey"
    assert f"(ticker, event_ticker)=({ticker}, {event})" in refused.value.diag.message_detail
    assert _count(db, "markets") == before


@pytest.mark.parametrize("change", [
    "UPDATE market_tickers SET event_ticker = 'KXNFLGAME-26SEP20NYGDAL'",
    "DELETE FROM market_tickers",
    "TRUNCATE market_tickers CASCADE",
])
def test_market_tickers_never_change(db, change):
    """sql/0144: what the foreign key's row lock guaranteed while a version was inserted (its
    ticker and event stay), the anchor table guarantees for ever: no UPDATE, DELETE or TRUNCATE."""
    f.market(db)
    operation = change.split()[0]
    _refused(db, errors.RestrictViolation, f"market_tickers is append-only: {operation} is not allowed",
             lambda: db.execute(change), "market_tickers")
    assert db.execute("SELECT ticker, event_ticker FROM market_tickers").fetchall() == [
        ("KXNFLGAME-26SEP13DALNYG-DAL", "KXNFLGAME-26SEP13DALNYG")]
