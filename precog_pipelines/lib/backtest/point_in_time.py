"""A session that sees the warehouse as it stood at a moment, with a ledger of its own.

The live trading code names its tables without a schema. PostgreSQL looks a name up in the
session's temporary schema before any other, so this session gets:

- empty temporary copies of the ledger (``edges``, ``positions``, ``trades``, ``entry_attempts``,
  ``exit_orders``, ``exit_attempts``, ``position_exits``, ``settlements``, ``account_balance``, with their constraints,
  indexes and guard triggers), of the risk limits' logs (``entry_orders``, ``risk_refusals``), the kill
  switch (``trading_halts``: a live halt does not stop a backtest, a backtest never halts live
  trading or trips its breakers) and ``alerts``: the live code writes there, and they vanish with the session;
- views of the SCD Type 2 histories (``markets``, ``game_states``) as of the backtest clock
  (``precog.backtest_as_of``): only versions started by then, the one alive then marked current;
- the Elo ratings of games played before the clock's day (no peeking at later results);
- the ``*_current`` views over all of these.

Every other table (games, teams, series, events, strategies, models) is read as it is; none is
written. :func:`isolate` refuses to return unless every shadowing name resolves to a temporary
relation, so a typo here can never send a backtest's trades to the live ledger.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg import sql

AS_OF_SETTING = "precog.backtest_as_of"
_AS_OF = sql.SQL("current_setting('precog.backtest_as_of')::timestamptz")

SCD2_LEDGER = ("edges", "positions", "account_balance")
# With the order logs, the risk limits' refusals and the kill switch's events: a backtest's orders,
# refusals and any halt stay in the session (a replayed loss or order error must never halt live
# trading, and the live kill switch must not stop a replay of the past).
APPEND_ONLY_LEDGER = ("trades", "entry_attempts", "exit_orders", "exit_attempts", "position_exits", "settlements",
                      "entry_orders", "risk_refusals", "trading_halts")
# Written by the trading code but neither SCD2 nor append-only: the alerts a refusal raises.
PLAIN_SHADOWS = ("alerts",)
HISTORIES = ("markets", "game_states")
CURRENT_VIEWS = {"markets_current": "markets", "game_states_current": "game_states", "edges_current": "edges",
                 "positions_current": "positions", "account_balance_current": "account_balance"}
SHADOWED = (*SCD2_LEDGER, *APPEND_ONLY_LEDGER, *PLAIN_SHADOWS, *HISTORIES, "elo_rating_history", *CURRENT_VIEWS)
GAME_DAY_ZONE = "America/New_York"


class IsolationError(RuntimeError):
    """A name the live code writes or reads would reach a live table."""


def set_as_of(conn: psycopg.Connection, at: datetime) -> None:
    """Move the clock the history views are seen at (session-wide, across commits)."""
    if at.tzinfo is None:
        raise ValueError("the backtest clock must be timezone-aware")
    conn.execute("SELECT set_config(%s, %s, false)", (AS_OF_SETTING, at.isoformat()))


def _shadow_ledger(conn: psycopg.Connection) -> None:
    for table in (*SCD2_LEDGER, *APPEND_ONLY_LEDGER, *PLAIN_SHADOWS):
        conn.execute(sql.SQL(
            "CREATE TEMPORARY TABLE {t} (LIKE public.{t} INCLUDING DEFAULTS INCLUDING IDENTITY "
            "INCLUDING CONSTRAINTS INCLUDING INDEXES)").format(t=sql.Identifier(table)))
    for table in SCD2_LEDGER:
        conn.execute(sql.SQL(
            "CREATE TRIGGER {name} BEFORE UPDATE ON pg_temp.{t} FOR EACH ROW "
            "EXECUTE FUNCTION public.scd2_only_close_current()").format(
                name=sql.Identifier(f"{table}_scd2_guard"), t=sql.Identifier(table)))
    for table in APPEND_ONLY_LEDGER:
        conn.execute(sql.SQL(
            "CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON pg_temp.{t} FOR EACH ROW "
            "EXECUTE FUNCTION public.reject_append_only_change()").format(
                name=sql.Identifier(f"{table}_append_only"), t=sql.Identifier(table)))


def _history_as_of(conn: psycopg.Connection, table: str, extra_versions: str | None = None) -> None:
    """A view of ``table``'s versions started by the clock; the one alive then is current.
    ``extra_versions``, a temporary table shaped like ``table``, adds versions the warehouse
    never recorded (a replay's candle paths)."""
    columns = [row[0] for row in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
        "ORDER BY ordinal_position", (table,))]
    select = []
    for column in columns:
        if column == "row_current_ind":
            select.append(sql.SQL("(v.row_end_ts IS NULL OR v.row_end_ts > {as_of}) AS row_current_ind").format(
                as_of=_AS_OF))
        elif column == "row_end_ts":
            select.append(sql.SQL("CASE WHEN v.row_end_ts > {as_of} THEN NULL ELSE v.row_end_ts END AS row_end_ts")
                          .format(as_of=_AS_OF))
        else:
            select.append(sql.SQL("v.{}").format(sql.Identifier(column)))
    source = sql.SQL("public.{t}").format(t=sql.Identifier(table))
    if extra_versions is not None:
        source = sql.SQL("(SELECT * FROM public.{t} UNION ALL SELECT * FROM pg_temp.{extra})").format(
            t=sql.Identifier(table), extra=sql.Identifier(extra_versions))
    conn.execute(sql.SQL("CREATE TEMPORARY VIEW {t} AS SELECT {columns} FROM {source} v "
                         "WHERE v.row_start_ts <= {as_of}").format(
        t=sql.Identifier(table), columns=sql.SQL(", ").join(select), source=source, as_of=_AS_OF))


def isolate(conn: psycopg.Connection, start: datetime, account: str, starting_balance: Decimal,
            extra_market_versions: str | None = None) -> None:
    """Shadow the ledger and the histories for this session, seed the backtest's cash account
    and set the clock to ``start``; commits. ``extra_market_versions`` names a temporary table
    of market versions the history view adds to the recorded ones."""
    set_as_of(conn, start)
    _shadow_ledger(conn)
    for table in HISTORIES:
        _history_as_of(conn, table, extra_market_versions if table == "markets" else None)
    conn.execute(sql.SQL(
        "CREATE TEMPORARY VIEW elo_rating_history AS SELECT * FROM public.elo_rating_history "
        "WHERE game_date < ({as_of} AT TIME ZONE {zone})::date").format(as_of=_AS_OF, zone=sql.Literal(GAME_DAY_ZONE)))
    for view, table in CURRENT_VIEWS.items():
        conn.execute(sql.SQL("CREATE TEMPORARY VIEW {v} AS SELECT * FROM pg_temp.{t} WHERE row_current_ind").format(
            v=sql.Identifier(view), t=sql.Identifier(table)))
    verify_isolated(conn)
    conn.execute(
        "INSERT INTO pg_temp.account_balance (account_key, trading_mode, balance, change_reason, row_start_ts) "
        "VALUES (%s, 'paper', %s, 'initial', %s)", (account, starting_balance, start))
    conn.commit()


def verify_isolated(conn: psycopg.Connection) -> None:
    """Every shadowing name must resolve to a temporary relation in this session."""
    rows = conn.execute(
        "SELECT n.name, c.relpersistence FROM unnest(%s::text[]) AS n (name) "
        "LEFT JOIN pg_class c ON c.oid = to_regclass(n.name)", (list(SHADOWED),)).fetchall()
    live = sorted(name for name, persistence in rows if persistence != "t")
    if live:
        raise IsolationError(f"backtest session would reach live relations: {', '.join(live)}")


def release(conn: psycopg.Connection) -> None:
    """Drop the session's shadows and clock: its names reach the live tables again."""
    conn.rollback()
    conn.execute("DISCARD TEMP")
    conn.execute("SELECT set_config(%s, '', false)", (AS_OF_SETTING,))
    conn.commit()
