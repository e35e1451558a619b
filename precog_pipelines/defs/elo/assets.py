"""The Elo rating history, one partition per NFL season."""

from typing import Any

import dagster as dg

from precog_pipelines.core.metadata import table
from precog_pipelines.core.partitions import season_range
from precog_pipelines.defs.elo.partitions import nfl_seasons
from precog_pipelines.lib.elo.rating_run import ELO_INPUT_ERRORS, RatingRun, rate_seasons
from precog_pipelines.lib.elo.report import SeasonReport, forecasts, season_reports
from precog_pipelines.lib.elo.scoring import brier_score, log_loss
from precog_pipelines.lib.elo.seasons import describe_seasons
from precog_pipelines.lib.elo.store import active_models, team_codes
from precog_pipelines.lib.quality.rules import table_row_count
from precog_pipelines.resources.elo_games import EloGameSourceResource
from precog_pipelines.resources.warehouse import WarehouseResource


@dg.asset(
    partitions_def=nfl_seasons,
    deps=[
        # Each season starts from the ratings at the end of the previous one.
        dg.AssetDep("elo_ratings", partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)),
        # Games after the shipped history's last day are rated from what ESPN ingestion writes:
        # the live poll, and the season backfill (season to season; none before 2021).
        dg.AssetDep("game_states"),
        dg.AssetDep("espn_season_games",
                    partition_mapping=dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)),
    ],
    # A backfill of any range is one run replaying its seasons in order, not a chain of runs.
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="elo",
    kinds={"postgres", "python"},
    owners=["team:precog"],
)
def elo_ratings(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, elo_games: EloGameSourceResource
) -> dg.MaterializeResult:
    """Table ``elo_rating_history``: one row per team per final game under every NFL Elo version
    ``probability_models`` marks active (out of the box only ``elo_nfl`` v1.0, FiveThirtyEight's
    classic NFL Elo; inactive versions such as the candidate v2.0 are rated by
    ``model_evaluation`` when it scores them): the rating before the game (after any
    season-start reversion), after it, and the pre-game win probability.

    Games come from the NFL history shipped in the package through its last day, 2025-09-29
    (FiveThirtyEight's files 1920-2020 and spreadspoke's 2021-2025, recorded in ``games``, with
    historical franchises added to ``teams`` as inactive), then from completed ESPN games in the
    warehouse after that day. A game both know is one ``games`` row; the files' result counts.
    A run starts from the stored ratings at the end of the season before its range and
    replaces the range's rows in one transaction; when the range reaches the latest season
    with games it also sets ``teams.current_elo_rating`` (from the newest active version).

    Each season's partition shows its games, Brier score and log loss of its pre-game
    probabilities, its top and bottom five teams and a chart of every team's rating (of the
    newest active version; the others' scores are listed under their labels). The row count is
    the table's; each run is also recorded as an observation with its range, totals and timings.
    """
    first, last = season_range(context.partition_key_range)
    source = elo_games.source()
    try:
        with warehouse.connection() as pg:
            models = active_models(pg, source.league)
            runs = [rate_seasons(pg, source, model.name, model.version, first, last,
                                 update_current_ratings=model is models[-1]) for model in models]
            run = runs[-1]
            codes = team_codes(pg, {t for r in run.rated for t in (r.game.team1, r.game.team2)})
            table_rows = table_row_count(pg, "elo_rating_history")
    except ELO_INPUT_ERRORS as exc:
        # Bad input or a missing earlier season: the message says what to fix; nothing was written.
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    for other in runs:
        if other.seasons_needing_rerun:
            context.log.warning(
                f"{other.model.label} ratings of seasons {describe_seasons(other.seasons_needing_rerun)} were "
                "replayed from the ratings this run replaced and no longer follow from them; rematerialize "
                "those partitions"
            )
    seasons = range(first, last + 1)
    others = [(other.model.label, season_reports(other.rated, seasons, codes.get)) for other in runs[:-1]]
    models_label = ", ".join(r.model.label for r in runs)
    for index, report in enumerate(season_reports(run.rated, seasons, codes.__getitem__)):
        metadata = _season_metadata(report, models_label, table_rows)
        for label, reports in others:
            metadata |= {f"{label} brier_score": reports[index].brier_score,
                         f"{label} log_loss": reports[index].log_loss}
        context.add_asset_metadata(metadata, partition_key=str(report.season))
    # The run as a whole (range, totals, timings, follow-ups) is one observation of the asset,
    # not keys repeated on every season it materialized.
    context.log_event(dg.AssetObservation(asset_key=context.asset_key, metadata=_run_metadata(run, models_label)))
    return dg.MaterializeResult()


def _season_metadata(report: SeasonReport, models_label: str, table_rows: int) -> dict[str, Any]:
    """One season's partition, the same keys every time: its games and rows, the scores of its
    pre-game probabilities, rankings and a chart of its teams' ratings; ``dagster/row_count`` is
    the table's rows after the run (what the asset's overview shows), the season's own are
    ``season_rows``."""
    return {
        "model": models_label,
        "games_replayed": report.games,
        "teams_rated": report.teams,
        "season_rows": 2 * report.games,
        "dagster/row_count": table_rows,
        "brier_score": report.brier_score,
        "log_loss": report.log_loss,
        "top_five": dg.MetadataValue.md(report.top_teams),
        "bottom_five": dg.MetadataValue.md(report.bottom_teams),
        "ratings_chart": table(report.chart_rows, columns=["rank", "team", "rating", "change", "chart"]),
        "ratings_chart_season": report.chart_season if report.chart_season is not None else "none",
    }


def _run_metadata(run: RatingRun, models_label: str) -> dict[str, Any]:
    """The whole run: range, totals, timings, follow-ups."""
    forecasts_ = forecasts(run.rated)
    return {
        "model": models_label,
        "run_seasons": f"{run.first_season}..{run.last_season}",
        "run_games_replayed": len(run.rated),
        "run_brier_score": brier_score(forecasts_),
        "run_log_loss": log_loss(forecasts_),
        "current_ratings_updated": run.current_ratings_updated,
        "seasons_needing_rerun": describe_seasons(run.seasons_needing_rerun),
        "engine_seconds": run.engine_seconds,
        "file_seconds": run.file_seconds,
        "database_seconds": run.database_seconds,
    }
