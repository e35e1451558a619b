"""``precog backtest``: what a strategy version would have done."""

from __future__ import annotations

from decimal import Decimal

import click

from precog_pipelines.cli.db import _URL_OPTION as database_url_option
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.model import EVALUATION_ERRORS, migrated_warehouse
from precog_pipelines.lib.backtest.lines import BacktestSettingsError, LinesSettings
from precog_pipelines.lib.backtest.report import percent
from precog_pipelines.lib.backtest.runs import SOURCES, BacktestRequest, BacktestRequestError, run_backtest
from precog_pipelines.lib.elo.seasons import SeasonRangeError, parse_season_range
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.trading.strategy import StrategyConfigError

BACKTEST_ERRORS = (*EVALUATION_ERRORS, StrategyConfigError, BacktestRequestError, BacktestSettingsError)


def _half_spread(context: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        return Decimal(value)
    except ArithmeticError:
        raise click.BadParameter(f"{value!r} is not a number of dollars (for example 0.01)") from None


@click.command()
@click.option("--strategy", required=True, help="strategies.strategy_name, e.g. default_paper.")
@click.option("--version", "strategy_version", default=None, help="Strategy version (default: the newest active).")
@click.option("--model", "model_key", required=True, metavar="NAME:VERSION", help="Model version, e.g. elo_nfl:1.0.")
@click.option("--seasons", required=True, help="FIRST-LAST seasons, e.g. 1979-2025.")
@click.option("--source", type=click.Choice(SOURCES), default="lines", show_default=True,
              help="lines: the shipped closing lines; warehouse: the recorded Kalshi market history.")
@click.option("--half-spread", default="0.01", show_default=True, callback=_half_spread,
              help="Dollars over the market's probability paid for a side (lines source).")
@database_url_option
@user_errors
def backtest(strategy: str, strategy_version: str | None, model_key: str, seasons: str, source: str,
             half_spread: Decimal, database_url: str | None) -> None:
    """Replay a strategy version with a model version over past seasons through the live trading
    code, store the result in the backtest tables (never the live ledger) and print it."""
    try:
        first, last = parse_season_range(seasons)
    except SeasonRangeError as exc:
        raise click.BadParameter(str(exc), param_hint="--seasons") from None
    try:
        request = BacktestRequest(strategy=strategy, strategy_version=strategy_version, model=model_key,
                                  first_season=first, last_season=last, source=source,
                                  lines=LinesSettings(half_spread=half_spread))
        with migrated_warehouse(database_url) as url:
            result = run_backtest(url, GameSource(), request, None)
    except BACKTEST_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    total = result.total
    click.echo(f"backtest {result.backtest_id}: {result.strategy.name}:{result.strategy.version} with "
               f"{result.model.key}, seasons {first}-{last}, source {source}"
               + (f" (half-spread {half_spread}, market {result.market.key})" if result.market else ""))
    click.echo(f"{'season':>6}  {'trades':>6}  {'wins':>5}  {'staked':>11}  {'P&L':>10}  {'ROI':>8}  {'drawdown':>9}")
    for season, s in [*result.seasons.items(), ("total", total)]:
        click.echo(f"{season:>6}  {s.trades:>6}  {s.wins:>5}  {s.staked:>11,.2f}  {s.pnl:>+10,.2f}  "
                   f"{percent(s.roi):>8}  {s.max_drawdown:>9,.2f}")
