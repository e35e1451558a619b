"""Invariants of the Elo rating history, checked per season partition, for every active model
version.

In Dagster 1.13 a check in a single-run backfill receives the whole partition range; each check
evaluates the range at once and records its result per season (``core.checks.season_results``),
so every season partition shows its own status.
"""

from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import psycopg

from precog_pipelines.core.checks import season_results, violations_result
from precog_pipelines.defs.elo.assets import elo_ratings
from precog_pipelines.defs.elo.partitions import nfl_seasons
from precog_pipelines.lib.elo import checks
from precog_pipelines.lib.elo.chain import chain_breaks
from precog_pipelines.lib.elo.seasons import describe_seasons
from precog_pipelines.lib.elo.store import EloModel, active_models
from precog_pipelines.lib.quality.violations import Violations
from precog_pipelines.resources.elo_games import EloGameSourceResource
from precog_pipelines.resources.warehouse import WarehouseResource


def _per_model(conn: psycopg.Connection, find: Callable[[EloModel], Violations], league: str = "nfl") -> Violations:
    """``find``'s violations for every active version, each example labelled with its version."""
    found = [(model.label, find(model)) for model in active_models(conn, league)]
    return Violations(sum(v.count for _, v in found),
                      [{"model": label, **sample} for label, v in found for sample in v.samples])


def _seasons_result(first: int, last: int, found: Violations, **extra: Any) -> dg.AssetCheckResult:
    """The check's result for ``first..last``, the first violations previewed."""
    return violations_result(found, examples_key="first_violations", seasons=f"{first}..{last}", **extra)


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def zero_sum_per_game(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
    """Elo is zero-sum: in every game the two teams' rating changes cancel (within 1e-6)."""
    with warehouse.connection() as conn:
        yield from season_results(context, lambda first, last: _seasons_result(
            first, last, _per_model(conn, lambda m: checks.unbalanced_games(conn, m.id, first, last))))


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def one_row_per_team_per_game(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, elo_games: EloGameSourceResource
) -> Iterator[Any]:
    """Every final game of the seasons has exactly one row for its home team and one for its
    away team, and no row claims a team, side, opponent or season its game does not have."""
    source = elo_games.source()
    with warehouse.connection() as conn:
        yield from season_results(context, lambda first, last: _seasons_result(
            first, last, _per_model(conn, lambda m: checks.games_not_rated_once_per_team(
                conn, source.league, m.id, first, last, source.files_end), source.league)))


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def ratings_within_bounds(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
    """Every rating before and after a game lies within 1000..2100; outside it the model has
    diverged (the best and worst NFL teams ever sit well inside)."""
    with warehouse.connection() as conn:
        yield from season_results(context, lambda first, last: _seasons_result(
            first, last, _per_model(conn, lambda m: checks.ratings_out_of_bounds(conn, m.id, first, last))))


@dg.asset_check(asset=elo_ratings, partitions_def=nfl_seasons, blocking=True)
def season_brier_score_below_ceiling(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Each season's Brier score of the pre-game home win probabilities is below 0.25, the
    score of always saying 50%: a model doing worse than a coin flip is broken."""
    with warehouse.connection() as conn:
        yield from season_results(context, lambda first, last: _brier_result(conn, first, last), each_season=True)


def _brier_result(conn: psycopg.Connection, first: int, last: int) -> dg.AssetCheckResult:
    scores = [s for model in active_models(conn, "nfl") for s in checks.season_brier_scores(conn, model.id, first, last)]
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
) -> Iterator[Any]:
    """Every pre-game rating equals the team's previous post-game rating (reverted, or
    overridden, at a new season; its initial rating at its first game). A failure means an
    earlier season was re-rated with different results: rerun from the first failing season."""
    source = elo_games.source()
    with warehouse.connection() as conn:
        inputs = source.team_inputs(conn)

        def evaluate(first: int, last: int) -> dg.AssetCheckResult:
            def breaks_of(model: EloModel) -> Violations:
                breaks = chain_breaks(conn, model.id, model.config, inputs.initial_ratings, inputs.overrides,
                                      first, last)
                return Violations.of([{"team_id": b.team_id, "season": b.season, "game_date": b.game_date,
                                       "stored": b.stored, "expected": b.expected} for b in breaks])

            found = _per_model(conn, breaks_of, source.league)
            return _seasons_result(first, last, found,
                                   seasons_needing_rerun=describe_seasons(s["season"] for s in found.samples))

        yield from season_results(context, evaluate)
