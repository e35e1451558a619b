"""Helpers for the evaluation tests: the evaluation definitions, a small history folder, and
materializing them on a test warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagster as dg

from precog_pipelines.defs.evaluation import assets as evaluation_assets
from precog_pipelines.defs.evaluation import checks as evaluation_checks
from precog_pipelines.lib.elo.sources import shipped_history_dir
from precog_pipelines_tests.support.elo import elo_resources

GAMES_HEADER = "date,season,neutral,playoff,team1,team2,score1,score2"
LINES_HEADER = "date,season,team1,team2,favorite,spread_favorite,over_under"

EVALUATION_ASSETS = [evaluation_assets.closing_lines, evaluation_assets.model_evaluation,
                     evaluation_assets.strategy_backtests]
EVALUATION_CHECKS = [*evaluation_checks.closing_line_checks, *evaluation_checks.evaluation_checks,
                     *evaluation_checks.backtest_checks]
EVALUATION_DEFINITIONS = [*EVALUATION_ASSETS, *EVALUATION_CHECKS]


def small_history(directory: Path, games: list[str], lines: list[str]) -> Path:
    """A history folder with the shipped initial ratings and overrides, ``games`` (CSV rows) as
    the first games file, an empty second one, and ``lines`` as the closing lines."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("initial_elos.csv", "season_overrides.csv"):
        shutil.copyfile(shipped_history_dir() / name, directory / name)
    (directory / "games_1920_2020.csv").write_text("\n".join([GAMES_HEADER, *games]) + "\n")
    (directory / "games_2021_2025.csv").write_text(GAMES_HEADER + "\n")
    (directory / "closing_lines_1979_2025.csv").write_text("\n".join([LINES_HEADER, *lines]) + "\n")
    return directory


def materialize_evaluation(database_url: str, instance: dg.DagsterInstance, selection: str | list[str], *,
                           season: int | None = None, history_dir: Path | None = None,
                           run_config: dict[str, Any] | None = None) -> dg.ExecuteInProcessResult:
    """Materialize evaluation assets (with their checks); ``season`` for model_evaluation."""
    return dg.materialize(
        EVALUATION_DEFINITIONS,
        selection=selection,
        resources=elo_resources(database_url, history_dir),
        instance=instance,
        partition_key=str(season) if season is not None else None,
        run_config=run_config,
        raise_on_error=False,
    )


def observation_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The plain metadata values of the run's observation of ``asset`` (a range run's summary)."""
    (observation,) = result.asset_observations_for_node(asset)
    return {key: value.value for key, value in observation.metadata.items()}


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str, partition: str | None = None) -> dict:
    events = result.asset_materializations_for_node(asset)
    event = next(e for e in events if e.partition == partition) if partition else events[-1]
    return {key: value.value for key, value in event.metadata.items()}
