"""Invariants of the Elo rating history, checked per season partition.

In Dagster 1.13 a check in a single-run backfill receives the whole partition range and its
result is recorded once for the run, so every check covers all seasons of its range and names
the failing seasons in its metadata.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg
import psycopg

from precog_pipelines.core.partitions import season_range
from precog_pipelines.defs.elo.assets import elo_ratings
from precog_pipelines.defs.elo.partitions import nfl_seasons
from precog_pipelines.lib.elo import checks
from precog_pipelines.lib.elo.chain import chain_breaks
from precog_pipelines.lib.elo.seasons import describe_seasons
from precog_pipelines.lib.elo.store import EloModel, active_models
from precog_pipelines.resources.elo_games import EloGameSourceResource
from precog_pipelines.resources.warehouse import WarehouseResource

PREVIEW_ROWS = 10


def _models(conn: psycopg.Connection, league: str = "nfl") -> list[EloModel]:
    """The model versions the asset rates with: every active one."""
    return active_models(conn, league)


def _per_model(conn: psycopg.Connection, find: Callable[[EloModel], list[tuple]]) -> list[tuple]:
    """``find``'s rows for every rated version, each prefixed with the version's label."""
    return [(model.label, *row) for model in _models(conn) for row in find(model)]


def _preview(header: tuple[str, ...], rows: list[tuple]) -> dg.MetadataValue:
    """The first rows as a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows[:PREVIEW_ROWS]]
    return dg.MetadataValue.md("\n".join(lines))


def _violations(
    context: dg.AssetCheckExecutionContext,
    header: tuple[str, ...],
    rows: list[tuple],
    **extra: Any,
) -> dg.AssetCheckResult:
    """Passed when there are no rows; metadata counts them and previews the first few."""
    first, last = season_range(context.partition_key_range)
    metadata: dict[str, Any] = {"seasons": f"{first}..{last}", "violations": len(rows), **extra}
    if rows:
        metadata["first_violations"] = _preview(header, rows)
    return dg.AssetCheckResult(passed=not rows, metadata=metadata)


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def zero_sum_per_game(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Elo is zero-sum: in every game the two teams' rating changes cancel (within 1e-6)."""
    first, last = season_range(context.partition_key_range)
    with warehouse.begin() as conn:
        pg = conn.connection.driver_connection
        rows = _per_model(pg, lambda model: checks.unbalanced_games(pg, model.id, first, last))
    return _violations(context, ("model", "game_id", "net change"), rows)


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def one_row_per_team_per_game(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, elo_games: EloGameSourceResource
) -> dg.AssetCheckResult:
    """Every final game of the seasons has exactly one row for its home team and one for its
    away team, and no row claims a team, side, opponent or season its game does not have."""
    first, last = season_range(context.partition_key_range)
    source = elo_games.source()
    with warehouse.begin() as conn:
        pg = conn.connection.driver_connection
        rows = _per_model(pg, lambda model: checks.games_not_rated_once_per_team(
            pg, source.league, model.id, first, last, source.files_end))
    return _violations(context, ("model", "game_id", "problem"), rows)


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def ratings_within_bounds(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every rating before and after a game lies within 1000..2100; outside it the model has
    diverged (the best and worst NFL teams ever sit well inside)."""
    first, last = season_range(context.partition_key_range)
    with warehouse.begin() as conn:
        pg = conn.connection.driver_connection
        rows = _per_model(pg, lambda model: checks.ratings_out_of_bounds(pg, model.id, first, last))
    return _violations(context, ("model", "game_id", "team_id", "rating_before", "rating_after"), rows)


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def season_brier_score_below_ceiling(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """Each season's Brier score of the pre-game home win probabilities is below 0.25, the
    score of always saying 50%: a model doing worse than a coin flip is broken."""
    first, last = season_range(context.partition_key_range)
    with warehouse.begin() as conn:
        pg = conn.connection.driver_connection
        scores = [s for model in _models(pg) for s in checks.season_brier_scores(pg, model.id, first, last)]
    failing = [s for s in scores if s.brier_score >= checks.BRIER_CEILING]
    metadata: dict[str, Any] = {
        "seasons": f"{first}..{last}",
        "worst_brier_score": max((s.brier_score for s in scores), default=None),
        "failing_seasons": describe_seasons(s.season for s in failing),
    }
    if len(scores) == 1:
        metadata["brier_score"] = scores[0].brier_score
    return dg.AssetCheckResult(passed=not failing, metadata=metadata)


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def follows_previous_ratings(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, elo_games: EloGameSourceResource
) -> dg.AssetCheckResult:
    """Every pre-game rating equals the team's previous post-game rating (reverted, or
    overridden, at a new season; its initial rating at its first game). A failure means an
    earlier season was re-rated with different results: rerun from the first failing season."""
    first, last = season_range(context.partition_key_range)
    source = elo_games.source()
    with warehouse.begin() as conn:
        pg = conn.connection.driver_connection
        inputs = source.team_inputs(pg)
        breaks = [(model.label, b) for model in _models(pg, source.league) for b in chain_breaks(
            pg, model.id, model.config, inputs.initial_ratings, inputs.overrides, first, last)]
    return _violations(
        context,
        ("model", "team_id", "season", "game_date", "stored", "expected"),
        [(label, b.team_id, b.season, b.game_date, b.stored, b.expected) for label, b in breaks],
        seasons_needing_rerun=describe_seasons(b.season for _, b in breaks),
    )
