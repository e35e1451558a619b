"""A backtest's closed trades, their summary (per season and in total) and the backtest tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from precog_pipelines.lib.trading.money import ZERO

ROI_QUANTUM = Decimal("0.000001")
DOLLAR_QUANTUM = Decimal("0.0001")


def dollars(value: Decimal) -> Decimal:
    """An amount as the ledger stores it: NUMERIC(18,4), half away from zero as PostgreSQL rounds."""
    return value.quantize(DOLLAR_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ClosedTrade:
    """One position of a backtest from entry to exit or settlement."""

    season: int
    game_id: int
    game_date: date
    ticker: str | None
    team_id: int
    side: str
    model_probability: Decimal
    edge: Decimal
    quantity: Decimal
    entry_price: Decimal
    entry_fee: Decimal
    opened_at: datetime | None
    exit_reason: str
    exit_price: Decimal
    exit_fee: Decimal
    closed_at: datetime | None
    realized_pnl: Decimal

    @property
    def staked(self) -> Decimal:
        """Dollars paid to enter, fee included."""
        return dollars(self.quantity * self.entry_price + self.entry_fee)

    @property
    def won(self) -> bool:
        return self.realized_pnl > ZERO


@dataclass(frozen=True)
class Summary:
    """Trades, wins, money in and out, and the worst fall of the cumulative P&L."""

    trades: int
    wins: int
    staked: Decimal
    fees: Decimal
    pnl: Decimal
    max_drawdown: Decimal

    @property
    def roi(self) -> Decimal | None:
        """P&L per dollar staked."""
        return (self.pnl / self.staked).quantize(ROI_QUANTUM) if self.staked else None


def max_drawdown(pnls: Sequence[Decimal]) -> Decimal:
    """The largest fall of the running total of ``pnls`` below an earlier high (the start is 0)."""
    total = peak = worst = ZERO
    for pnl in pnls:
        total += pnl
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


def summarize(trades: Sequence[ClosedTrade]) -> Summary:
    return Summary(
        trades=len(trades),
        wins=sum(1 for t in trades if t.won),
        staked=sum((t.staked for t in trades), ZERO),
        fees=sum((t.entry_fee + t.exit_fee for t in trades), ZERO),
        pnl=sum((t.realized_pnl for t in trades), ZERO),
        max_drawdown=max_drawdown([t.realized_pnl for t in trades]),
    )


def by_season(trades: Sequence[ClosedTrade], seasons: Sequence[int]) -> dict[int, Summary]:
    """Each season's summary (seasons without trades included), drawdown within the season."""
    grouped: dict[int, list[ClosedTrade]] = {season: [] for season in seasons}
    for trade in trades:
        grouped.setdefault(trade.season, []).append(trade)
    return {season: summarize(grouped[season]) for season in sorted(grouped)}


def equity_curve(trades: Sequence[ClosedTrade]) -> list[Decimal]:
    """Cumulative P&L after each trade, in closing order."""
    total, curve = ZERO, []
    for trade in trades:
        total += trade.realized_pnl
        curve.append(total)
    return curve


@dataclass(frozen=True)
class BacktestRecord:
    """Everything a backtest_runs row records about its inputs."""

    strategy_id: int
    probability_model_id: int
    source: str
    first_season: int
    last_season: int
    market_model_id: int | None
    half_spread: Decimal | None
    code_version: str
    inputs: dict[str, Any]
    started_at: datetime
    run_id: str | None


_TRADE_COLUMNS = (
    "backtest_run_id", "sequence", "season", "game_id", "game_date", "ticker", "team_id", "side", "model_probability",
    "edge", "quantity", "entry_price", "entry_fee", "opened_at", "exit_reason", "exit_price", "exit_fee",
    "closed_at", "realized_pnl", "equity_after",
)
_SEASON_COLUMNS = ("backtest_run_id", "season", "trades", "wins", "staked", "fees", "pnl", "roi", "max_drawdown")


def store_backtest(conn: psycopg.Connection, record: BacktestRecord, trades: Sequence[ClosedTrade],
                   seasons: dict[int, Summary]) -> int:
    """Append the run, its trades (COPY) and its seasons; returns the backtest_runs id."""
    total = summarize(trades)
    run_id = conn.execute(
        "INSERT INTO backtest_runs (strategy_id, probability_model_id, source, first_season, last_season, "
        "market_model_id, half_spread, code_version, inputs, trades, wins, staked, fees, pnl, roi, max_drawdown, "
        "run_id, started_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "RETURNING id",
        (record.strategy_id, record.probability_model_id, record.source, record.first_season, record.last_season,
         record.market_model_id, record.half_spread, record.code_version,
         Jsonb(json.loads(json.dumps(record.inputs, default=str))), total.trades, total.wins, total.staked,
         total.fees, total.pnl, total.roi, total.max_drawdown, record.run_id, record.started_at),
    ).fetchone()[0]
    with conn.cursor() as cursor, cursor.copy(f"COPY backtest_trades ({', '.join(_TRADE_COLUMNS)}) FROM STDIN") as copy:
        for sequence, (trade, equity) in enumerate(zip(trades, equity_curve(trades), strict=True), start=1):
            copy.write_row((run_id, sequence, trade.season, trade.game_id, trade.game_date, trade.ticker, trade.team_id,
                            trade.side, trade.model_probability, trade.edge, trade.quantity, trade.entry_price,
                            trade.entry_fee, trade.opened_at, trade.exit_reason, trade.exit_price, trade.exit_fee,
                            trade.closed_at, trade.realized_pnl, equity))
    with conn.cursor() as cursor, cursor.copy(f"COPY backtest_seasons ({', '.join(_SEASON_COLUMNS)}) FROM STDIN") as copy:
        for season, s in seasons.items():
            copy.write_row((run_id, season, s.trades, s.wins, s.staked, s.fees, s.pnl, s.roi, s.max_drawdown))
    return run_id
