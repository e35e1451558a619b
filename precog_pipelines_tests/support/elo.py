"""Helpers for the Elo tests: the project's Elo definitions, resources on a test warehouse,
and materializing season ranges through Dagster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from click.testing import CliRunner, Result

from precog_pipelines.cli import precog
from precog_pipelines.defs.elo import checks as elo_checks
from precog_pipelines.defs.elo.assets import elo_ratings
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.elo_games import EloGameSourceResource
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines_tests.conftest import SHARED_NFL_DATA

# elo_nfl v1.0 as ELO_SPEC.md states it: K 20, home advantage 65, reversion a third toward 1505,
# new franchises at 1300, FiveThirtyEight's margin-of-victory multiplier.
ELO_NFL_V1 = {
    "k_factor": 20, "home_field_advantage": 65, "rating_scale": 400, "reversion_mean": 1505,
    "reversion_keep_fraction": 2 / 3, "new_team_rating": 1300,
    "margin_multiplier": {"scale": 2.2, "rating_diff_coefficient": 0.001, "offset": 2.2, "tie_divisor": 1.0},
}

ELO_CHECKS = [c for c in vars(elo_checks).values() if isinstance(c, dg.AssetChecksDefinition)]
ELO_DEFINITIONS = [elo_ratings, *ELO_CHECKS]


def elo_resources(database_url: str, history_dir: Path | None = None) -> dict[str, Any]:
    """The warehouse, and the Elo games from ``history_dir`` (default: the files shipped in the package)."""
    return {
        "warehouse": WarehouseResource(database_url=database_url),
        "elo_games": EloGameSourceResource(history_dir=str(history_dir) if history_dir else None),
    }


def range_tags(first: int, last: int) -> dict[str, str]:
    """The tags a single-run backfill of ``first..last`` carries."""
    return {"dagster/asset_partition_range_start": str(first), "dagster/asset_partition_range_end": str(last)}


def materialize_seasons(
    database_url: str, instance: dg.DagsterInstance, first: int, last: int | None = None, **resource_settings: Any
) -> dg.ExecuteInProcessResult:
    """Materialize ``elo_ratings`` (with its checks) for one season or a range, in one run."""
    one_season = last is None or last == first
    return dg.materialize(
        ELO_DEFINITIONS,
        resources=elo_resources(database_url, **resource_settings),
        instance=instance,
        partition_key=str(first) if one_season else None,
        tags=None if one_season else range_tags(first, last),
        raise_on_error=False,
    )


def run_checks(
    database_url: str, instance: dg.DagsterInstance, season: int, **resource_settings: Any
) -> dict[str, dg.AssetCheckEvaluation]:
    """Only the checks, for one season partition, on whatever the warehouse holds now."""
    result = dg.materialize(
        ELO_DEFINITIONS,
        resources=elo_resources(database_url, **resource_settings),
        instance=instance,
        selection=dg.AssetSelection.checks(*ELO_CHECKS),
        tags={"dagster/partition": str(season)},
        raise_on_error=False,  # a failed blocking check fails the run
    )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialization_metadata(result: dg.ExecuteInProcessResult, season: int | None = None) -> dict[str, Any]:
    """The plain metadata values of the run's ``elo_ratings`` materialization of ``season``
    (default: its last season)."""
    events = result.asset_materializations_for_node("elo_ratings")
    event = events[-1] if season is None else next(e for e in events if e.partition == str(season))
    return {key: value.value for key, value in event.metadata.items()}


def run_summary(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The plain metadata values of the run's observation of ``elo_ratings``: range, totals,
    timings and follow-ups of the whole run."""
    (observation,) = result.asset_observations_for_node("elo_ratings")
    return {key: value.value for key, value in observation.metadata.items()}


def rating_rows(database_url: str, first: int = 0, last: int = 9999) -> dict[tuple, tuple]:
    """(date, 538 home code, 538 away code) -> (season, elo1_pre, elo2_pre, prob1, elo1_post,
    elo2_post) from ``elo_rating_history``, joining home and away rows of each game."""
    with connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT g.game_date, ah.alias_code, aa.alias_code, g.season,
                   h.rating_before, a.rating_before, h.win_probability, h.rating_after, a.rating_after
            FROM games g
            JOIN elo_rating_history h ON h.game_id = g.id AND h.is_home
            JOIN elo_rating_history a ON a.game_id = g.id AND NOT a.is_home
            JOIN team_aliases ah ON ah.team_id = g.home_team_id AND ah.source = 'fivethirtyeight'
            JOIN team_aliases aa ON aa.team_id = g.away_team_id AND aa.source = 'fivethirtyeight'
            WHERE g.season BETWEEN %s AND %s
            """,
            (first, last),
        ).fetchall()
    return {(r[0].isoformat(), r[1], r[2]): tuple(r[3:]) for r in rows}


def run_replay(output: Path, database_url: str, *extra: str,
               games: Path | None = SHARED_NFL_DATA / "games_1920_2020.csv") -> Result:
    """``precog elo replay`` on the shared files (``games=None``: with no file arguments at all,
    the shipped history)."""
    files = [] if games is None else [
        "--games", str(games), "--initial", str(SHARED_NFL_DATA / "initial_elos.csv"),
        "--overrides", str(SHARED_NFL_DATA / "season_overrides.csv")]
    return CliRunner().invoke(precog, ["elo", "replay", *files, "--output", str(output),
                                       "--database-url", database_url, *extra])
