"""What the UI and the command line show of backtests: totals, seasons and the equity curve."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from precog_pipelines.lib.backtest.results import Summary, equity_curve
from precog_pipelines.lib.backtest.runs import BacktestResult
from precog_pipelines.lib.text_charts import area_chart


def percent(value: Decimal | None) -> str:
    return "–" if value is None else f"{value * 100:+.2f}%"


def money(value: Decimal) -> str:
    return f"{value:+,.2f}"


def summary_cells(s: Summary) -> str:
    return (f"{s.trades:,} | {s.wins:,} | {s.staked:,.2f} | {s.fees:,.2f} | {money(s.pnl)} | {percent(s.roi)} | "
            f"{s.max_drawdown:,.2f}")


_HEADER = "trades | wins | staked $ | fees $ | P&L $ | ROI | max drawdown $"


def backtest_summary_table(results: Sequence[BacktestResult]) -> str:
    """One row per backtest."""
    lines = [f"| backtest | strategy | model | source | seasons | {_HEADER} |",
             "| ---: | --- | --- | --- | --- |" + " ---: |" * 7]
    for r in results:
        lines.append(f"| {r.backtest_id} | {r.strategy.name}:{r.strategy.version} | {r.model.key} | "
                     f"{r.request.source} | {r.request.first_season}-{r.request.last_season} | {summary_cells(r.total)} |")
    return "\n".join(lines)


def seasons_table(result: BacktestResult) -> str:
    """One row per season, then the total."""
    lines = [f"| season | {_HEADER} |", "| ---: |" + " ---: |" * 7]
    lines += [f"| {season} | {summary_cells(s)} |" for season, s in result.seasons.items()]
    lines.append(f"| **total** | {summary_cells(result.total)} |")
    return "\n".join(lines)


def equity_chart(result: BacktestResult) -> str:
    """Cumulative P&L trade after trade, with the seasons it spans."""
    curve = equity_curve(result.trades)
    if not curve:
        return "No trades."
    first, last = result.trades[0], result.trades[-1]
    chart = area_chart([float(v) for v in curve], label="{:+,.0f} $")
    return (f"Cumulative P&L over {len(curve):,} trades, {first.game_date} ({first.season}) to "
            f"{last.game_date} ({last.season}); ends at {money(curve[-1])} $\n\n```\n{chart}\n```")
