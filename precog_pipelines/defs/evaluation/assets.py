"""Does the model beat the market? The closing lines, the per-season evaluation of every model
version against them, and backtests of strategy versions."""

from typing import Any

import dagster as dg
from pydantic import Field

from precog_pipelines.core.metadata import markdown_table, table
from precog_pipelines.core.partitions import season_range
from precog_pipelines.defs.evaluation.partitions import FIRST_SEASON_WITH_LINES, evaluation_seasons
from precog_pipelines.lib.backtest.lines import BacktestSettingsError, LinesSettings
from precog_pipelines.lib.backtest.report import backtest_summary_table, equity_chart, seasons_table
from precog_pipelines.lib.backtest.runs import BacktestRequest, BacktestRequestError, half_spread, run_backtest
from precog_pipelines.lib.elo.csv_files import CsvInputError
from precog_pipelines.lib.elo.rating_run import ELO_INPUT_ERRORS
from precog_pipelines.lib.elo.seasons import SeasonRangeError, parse_season_range
from precog_pipelines.lib.elo.store import active_models
from precog_pipelines.lib.evaluation.closing_lines import ClosingLineMismatch, load_closing_lines
from precog_pipelines.lib.evaluation.forecasts import MissingForecasts
from precog_pipelines.lib.evaluation.market_model import MarketModelError
from precog_pipelines.lib.evaluation.report import (
    brier_by_season_chart,
    calibration_chart,
    model_vs_market_rows,
    scores_rows,
    scores_table,
)
from precog_pipelines.lib.evaluation.runs import Evaluation, run_evaluation, stored_brier_by_season
from precog_pipelines.lib.trading.strategy import StrategyConfigError
from precog_pipelines.resources.elo_games import EloGameSourceResource
from precog_pipelines.resources.warehouse import WarehouseResource

KINDS = {"postgres", "python"}
OWNERS = ["team:precog"]
# Errors a person fixes (inputs, configuration, order of runs); each message says what.
INPUT_ERRORS = (*ELO_INPUT_ERRORS, CsvInputError, ClosingLineMismatch, MarketModelError, MissingForecasts,
                StrategyConfigError, BacktestRequestError, BacktestSettingsError, SeasonRangeError)


def _failure(exc: Exception) -> dg.Failure:
    return dg.Failure(description=str(exc), allow_retries=False)


@dg.asset(group_name="evaluation", kinds=KINDS, owners=OWNERS)
def closing_lines(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  elo_games: EloGameSourceResource) -> dg.MaterializeResult:
    """Tables `closing_lines` and `closing_line_probabilities`: the closing point spread of every
    game 1979 to 2025-09-29 with a line (11,649, shipped in the package), linked to its `games`
    row by date, home and away team (the games are recorded from the history files first), and
    the market's home win probability under every version of the spread-to-probability map
    (`market_probability_models`; `spread_normal` v1.0: the final margin is normal around the
    line with a standard deviation fitted on 1979-2014). Upserted: an unchanged file writes
    nothing; a corrected line replaces its row and probabilities."""
    source = elo_games.source()
    try:
        with warehouse.connection() as conn:
            load = load_closing_lines(conn, source)
    except INPUT_ERRORS as exc:
        raise _failure(exc) from exc
    return dg.MaterializeResult(metadata={
        "lines": load.lines,
        "inserted": load.inserted,
        "updated": load.updated,
        "probabilities_written": load.probabilities_written,
        "market_models": markdown_table([{"version": m.key, "margin_sd": m.margin_sd} for m in load.market_models]),
        "lines_per_season": markdown_table(
            [{"season": season, "lines": n} for season, n in load.lines_per_season.items()], limit=200),
        "dagster/row_count": load.lines,
    })


def _season_metadata(evaluation: Evaluation, index: int, by_season: list[dict[str, Any]]) -> dict[str, Any]:
    """One season, the same keys every time: its scores table, its calibration chart, each
    source's scores as numbers (the UI plots numeric metadata across partitions: Brier by season
    for model and market), and the model versus the market over every season the table holds."""
    scores = evaluation.seasons[index]
    metadata: dict[str, Any] = {
        "games": scores.games,
        "scores": table(scores_rows(scores)),
        "model_vs_market": table(by_season),
        "calibration": dg.MetadataValue.md(calibration_chart(scores)),
    }
    for source, s in scores.scores.items():
        metadata[f"brier_score {source}"] = s.brier_score
        metadata[f"log_loss {source}"] = s.log_loss
    return metadata


@dg.asset(
    partitions_def=evaluation_seasons,
    deps=[closing_lines, dg.AssetDep("elo_ratings")],
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="evaluation", kinds=KINDS, owners=OWNERS,
)
def model_evaluation(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     elo_games: EloGameSourceResource) -> dg.MaterializeResult:
    """Table `model_evaluations`, one partition per season from 1979: every NFL Elo version in
    `probability_models` (active or not) and the market (the active spread map), scored on the
    same games, those with a closing line, from the home team's side (a tie counts 0.5): games,
    Brier score, log loss, accuracy, calibration in ten probability bins, and each model minus
    the market. A version without ratings for the seasons (a candidate the Elo asset does not
    rate because it is inactive) is rated first, without touching `teams.current_elo_rating`.

    Each season shows its table, a calibration chart and the model versus the market over every
    stored season (a table the page shows in place); each run is also an observation with its
    totals and the Brier score of every source season by season."""
    first, last = season_range(context.partition_key_range)
    try:
        with warehouse.connection() as conn:
            preparation, evaluation = run_evaluation(conn, elo_games.source(), first, last, None, context.run.run_id,
                                                     load_lines=False)
            by_season = model_vs_market_rows(stored_brier_by_season(conn, evaluation.market.id))
    except INPUT_ERRORS as exc:
        raise _failure(exc) from exc
    for index, scores in enumerate(evaluation.seasons):
        context.add_asset_metadata(_season_metadata(evaluation, index, by_season), partition_key=str(scores.season))
    # The run as a whole is one observation, not keys repeated on every season it materialized.
    context.log_event(dg.AssetObservation(asset_key=context.asset_key, metadata={
        "run_seasons": f"{first}..{last}",
        "market": f"{evaluation.market.key} (margin_sd {evaluation.market.margin_sd})",
        "models": ", ".join(model.key for model in evaluation.models),
        "models_rated_by_this_run": ", ".join(preparation.models_rated) or "none",
        "run_games": evaluation.totals.games,
        "run_totals": dg.MetadataValue.md(scores_table(evaluation.totals)),
        "run_calibration": dg.MetadataValue.md(calibration_chart(evaluation.totals)),
        "brier_by_season": dg.MetadataValue.md(brier_by_season_chart(evaluation.seasons)),
    }))
    return dg.MaterializeResult()


class BacktestConfig(dg.Config):
    strategy: str = Field(default="default_paper", description="strategies.strategy_name to replay.")
    strategy_version: str = Field(default="", description="Its version (empty: the newest active one).")
    models: list[str] = Field(default=[], description="Model versions as NAME:VERSION, one backtest each "
                                                      "(empty: every active version).")
    seasons: str = Field(default=f"{FIRST_SEASON_WITH_LINES}-2025", description="FIRST-LAST seasons.")
    source: str = Field(default="lines", description="lines: the closing lines (entry at the market's "
                        "probability plus the half-spread, held to the result); warehouse: the recorded Kalshi "
                        "market versions (and, for markets never recorded, their backfilled candlesticks), "
                        "through the live edge, opening, exit and settlement code.")
    half_spread: str = Field(default="0.01", description="Dollars added to the market's probability to buy "
                                                         "a side against the closing lines.")


@dg.asset(deps=[closing_lines, dg.AssetDep("elo_ratings"), "kalshi_markets", "kalshi_candlesticks", "game_states"],
          group_name="evaluation", kinds=KINDS, owners=OWNERS)
def strategy_backtests(context: dg.AssetExecutionContext, config: BacktestConfig, warehouse: WarehouseResource,
                       elo_games: EloGameSourceResource) -> dg.MaterializeResult:
    """Tables `backtest_runs`, `backtest_trades` and `backtest_seasons` (append-only): what a
    strategy version (default: `default_paper`'s newest) would have done with a model version
    (default: each active one) over some seasons, replayed against the closing lines or the
    warehouse's recorded Kalshi markets through the live trading code, never writing the live
    ledger; a market the warehouse never recorded as versions is replayed from its backfilled
    candlesticks (`market_candles`). Each backtest records its inputs (strategy, model, seasons,
    source, prices, code version) and its trades, wins, P&L, ROI on stake and maximum drawdown,
    in total and per season; the UI shows those and the equity curve."""
    source = elo_games.source()
    try:
        first, last = parse_season_range(config.seasons)
        with warehouse.connection() as conn:
            keys = config.models or [model.key for model in active_models(conn, source.league)]
        results = [run_backtest(warehouse.database_url, source, BacktestRequest(
            strategy=config.strategy, strategy_version=config.strategy_version or None, model=key,
            first_season=first, last_season=last, source=config.source,
            lines=LinesSettings(half_spread=half_spread(config.half_spread))), context.run.run_id) for key in keys]
    except INPUT_ERRORS as exc:
        raise _failure(exc) from exc
    metadata: dict[str, Any] = {
        "backtests": dg.MetadataValue.md(backtest_summary_table(results)),
        "backtest_ids": ", ".join(str(r.backtest_id) for r in results),
        "dagster/row_count": sum(r.total.trades for r in results),
    }
    for result in results:
        metadata[f"seasons {result.model.key}"] = dg.MetadataValue.md(seasons_table(result))
        metadata[f"equity_curve {result.model.key}"] = dg.MetadataValue.md(equity_chart(result))
    return dg.MaterializeResult(metadata=metadata)
