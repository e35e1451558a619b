"""A strategy version replayed over the warehouse's recorded Kalshi market history, through
the code that trades live. Markets the warehouse never recorded as versions but has candlesticks
of (``market_candles``) are replayed from those (:mod:`candle_paths`).

The walk visits, in time order, every moment the recorded history changed for the markets of
the chosen seasons (a market version or a game state starting) and every moment a time exit
falls due. At each moment, on a session isolated by :mod:`point_in_time` (the history as it
stood then, a private ledger):

1. markets of open positions that show a result are settled (``settle_market``);
2. open positions are checked against their exit rules (``scan_open_positions``, the exit
   sensor's query) and sold through ``exit_position`` with the paper executor, which fills at
   the bid of the moment and walks the price as live;
3. edges are recomputed (``refresh_edges``, the edges asset's code) for the model version;
4. positions open from the current edges (``open_positions``, the positions asset's code).

Nothing is written outside the session's temporary tables; :mod:`runs` stores the closed
positions in the backtest tables afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from precog_pipelines.lib.backtest.candle_paths import CANDLE_VERSIONS, DEFAULT_QUOTE_SIZE, load_candle_versions
from precog_pipelines.lib.backtest.point_in_time import isolate, release, set_as_of
from precog_pipelines.lib.backtest.results import ClosedTrade
from precog_pipelines.lib.elo.seasons import season_of
from precog_pipelines.lib.elo.store import EloModel
from precog_pipelines.lib.trading.edge_run import refresh_edges
from precog_pipelines.lib.trading.edge_snapshot import LEAGUE
from precog_pipelines.lib.trading.executors import PaperExecutor
from precog_pipelines.lib.trading.exit_flow import ExitNotFilled, exit_position
from precog_pipelines.lib.trading.matching import parse_game_market
from precog_pipelines.lib.trading.monitor import scan_open_positions
from precog_pipelines.lib.trading.opening import open_positions
from precog_pipelines.lib.trading.settlement import SETTLED_STATUSES, settle_market
from precog_pipelines.lib.trading.strategy import Strategy
from precog_pipelines.lib.warehouse.server import connect

BACKTEST_ACCOUNT = "backtest:paper"
DEFAULT_STARTING_BALANCE = Decimal("1000")
_EVERY_POSITION = 1_000_000
_TICK = timedelta(microseconds=1)

# The recorded versions and those the session derived from candles (candle_paths).
_MARKET_HISTORY = f"""(SELECT ticker, row_start_ts, close_time FROM public.markets
  UNION ALL SELECT ticker, row_start_ts, close_time FROM pg_temp.{CANDLE_VERSIONS})"""

_MOMENTS = f"""
SELECT row_start_ts FROM {_MARKET_HISTORY} m WHERE ticker = ANY(%(tickers)s)
UNION
SELECT s.row_start_ts FROM public.game_states s JOIN public.games g ON g.external_game_id = s.external_game_id
 WHERE g.league = %(league)s AND g.season BETWEEN %(first)s AND %(last)s
UNION
SELECT close_time - make_interval(mins => %(minutes)s) FROM {_MARKET_HISTORY} m
 WHERE ticker = ANY(%(tickers)s) AND %(minutes)s IS NOT NULL
ORDER BY 1
"""

# Held markets whose version of the moment shows a result: what the settlement sensor finds.
_TO_SETTLE = """
SELECT DISTINCT p.ticker FROM positions p
  JOIN markets m ON m.ticker = p.ticker AND m.row_current_ind
 WHERE p.row_current_ind AND p.status = 'open' AND m.status = ANY(%s) AND m.result <> ''
 ORDER BY p.ticker
"""

_POSITIONS = """
SELECT p.ticker, p.side, p.quantity, p.entry_price, p.entry_fee, p.opened_at, p.status, p.exit_reason,
       p.exit_price, p.closed_at, p.realized_pnl, e.game_id, e.team_id, e.model_probability, e.edge,
       g.season, g.game_date, coalesce(x.fee, 0)
  FROM positions p
  JOIN edges e ON e.id = p.edge_id
  JOIN games g ON g.id = e.game_id
  -- A partial exit leaves several exit rows: the trade's exit fee is all of them.
  LEFT JOIN (SELECT position_key, sum(fee) AS fee FROM position_exits GROUP BY position_key) x
         ON x.position_key = p.position_key
 WHERE p.row_current_ind
 ORDER BY p.closed_at NULLS LAST, p.opened_at, p.position_key
"""


@dataclass(frozen=True)
class ReplaySettings:
    fee_basis_contracts: Decimal = Decimal(100)
    starting_balance: Decimal = DEFAULT_STARTING_BALANCE
    candle_quote_size: Decimal = DEFAULT_QUOTE_SIZE  # contracts offered at a candle's quotes


@dataclass
class ReplayOutcome:
    trades: list[ClosedTrade] = field(default_factory=list)
    still_open: int = 0
    moments: int = 0
    unfilled_exits: int = 0
    markets: int = 0
    candle_markets: int = 0  # of ``markets``, those replayed from candlesticks


class BacktestClock:
    """The moment being replayed; every call returns a later instant than the one before, so
    that versions written at one moment still follow each other (row_end_ts > row_start_ts)."""

    def __init__(self) -> None:
        self.moment: datetime | None = None
        self._last: datetime | None = None

    def __call__(self) -> datetime:
        if self.moment is None:
            raise RuntimeError("the backtest clock has not started")
        now = self.moment if self._last is None or self.moment > self._last else self._last + _TICK
        self._last = now
        return now


def game_market_tickers(conn: psycopg.Connection, first_season: int, last_season: int) -> list[str]:
    """Recorded NFL game markets whose game day falls in the seasons."""
    codes = dict(conn.execute(
        "SELECT alias_code, team_id FROM team_aliases WHERE league = %s AND source = 'kalshi'", (LEAGUE,)))
    tickers = []
    for (ticker,) in conn.execute("SELECT ticker FROM public.market_tickers ORDER BY ticker"):
        market = parse_game_market(ticker, codes)
        if market is not None and first_season <= season_of(market.game_date) <= last_season:
            tickers.append(ticker)
    return tickers


def moments(conn: psycopg.Connection, tickers: Sequence[str], first_season: int, last_season: int,
            exit_minutes_before_close: int | None) -> list[datetime]:
    """When the recorded history changed, and when time exits fell due before its end (the
    session's candle versions, :func:`load_candle_versions`, count as recorded)."""
    found = [row[0] for row in conn.execute(_MOMENTS, {
        "tickers": list(tickers), "league": LEAGUE, "first": first_season, "last": last_season,
        "minutes": exit_minutes_before_close})]
    recorded_end = conn.execute(f"SELECT max(row_start_ts) FROM {_MARKET_HISTORY} m WHERE ticker = ANY(%s)",
                                (list(tickers),)).fetchone()[0]
    # After the last recorded version the prices are unknown: nothing is simulated there.
    return [moment for moment in found if recorded_end is not None and moment <= recorded_end]


def _step(conn: psycopg.Connection, at: datetime, clock: BacktestClock, strategy: Strategy, model: EloModel,
          executor: PaperExecutor, settings: ReplaySettings, run_id: str, outcome: ReplayOutcome) -> None:
    for (ticker,) in conn.execute(_TO_SETTLE, (list(SETTLED_STATUSES),)).fetchall():
        settle_market(conn, ticker, {"paper": BACKTEST_ACCOUNT}, clock())
        conn.commit()
    scan = scan_open_positions(conn, at, 0, _EVERY_POSITION)
    conn.commit()
    for candidate in scan.candidates:
        try:
            exit_position(conn, candidate.position_key, candidate.signal.rule, strategy.limit_attempts, executor,
                          BACKTEST_ACCOUNT, run_id, clock)
        except ExitNotFilled:
            outcome.unfilled_exits += 1  # live, the sensor tries again at its next tick; so does the walk
    refresh_edges(conn, [model], at, settings.fee_basis_contracts, run_id)
    conn.commit()
    open_positions(conn, strategy, [model.id], executor, "paper", BACKTEST_ACCOUNT, clock, halt_on_daily_loss=False)


def _closed_trades(conn: psycopg.Connection, outcome: ReplayOutcome) -> None:
    for (ticker, side, quantity, entry_price, entry_fee, opened_at, status, exit_reason, exit_price, closed_at,
         realized_pnl, game_id, team_id, model_probability, edge, season, game_date, exit_fee) in conn.execute(_POSITIONS):
        if status == "open":
            outcome.still_open += 1
            continue
        outcome.trades.append(ClosedTrade(
            season=season, game_id=game_id, game_date=game_date, ticker=ticker, team_id=team_id, side=side,
            model_probability=model_probability, edge=edge, quantity=quantity, entry_price=entry_price,
            entry_fee=entry_fee, opened_at=opened_at, exit_reason=exit_reason, exit_price=exit_price,
            exit_fee=exit_fee, closed_at=closed_at, realized_pnl=realized_pnl))


def replay_markets(database_url: str, strategy: Strategy, model: EloModel, first_season: int, last_season: int,
                   run_id: str, settings: ReplaySettings = ReplaySettings()) -> ReplayOutcome:
    """Walk the recorded history of the seasons' game markets on a session of its own."""
    outcome = ReplayOutcome()
    # A fresh session: no statement it ever ran can point at a live ledger table.
    with connect(database_url) as conn:
        tickers = game_market_tickers(conn, first_season, last_season)
        outcome.candle_markets = load_candle_versions(conn, tickers, settings.candle_quote_size)
        walk = moments(conn, tickers, first_season, last_season, strategy.exit_rules.exit_minutes_before_close)
        outcome.markets, outcome.moments = len(tickers), len(walk)
        conn.commit()
        if not walk:
            return outcome
        isolate(conn, walk[0] - _TICK, BACKTEST_ACCOUNT, settings.starting_balance, extra_market_versions=CANDLE_VERSIONS)
        try:
            clock = BacktestClock()
            executor = PaperExecutor(clock)
            for at in walk:
                set_as_of(conn, at)
                conn.commit()  # a rolled-back transaction would take the clock back with it
                clock.moment = at
                _step(conn, at, clock, strategy, model, executor, settings, run_id, outcome)
            _closed_trades(conn, outcome)
        finally:
            release(conn)
    return outcome
