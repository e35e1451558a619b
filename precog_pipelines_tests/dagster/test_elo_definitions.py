"""The Elo definitions as the code location loads them: partitions, asset, checks, job,
schedule (default status from the environment) and the game source resource's settings."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

import precog_pipelines
from precog_pipelines.definitions import defs as lazy_defs
from precog_pipelines.defs.elo import schedules
from precog_pipelines.defs.elo.partitions import nfl_seasons
from precog_pipelines.lib.elo.sources import shipped_history_dir
from precog_pipelines.lib.settings import setting
from precog_pipelines.resources.elo_games import EloGameSourceResource
from precog_pipelines_tests.conftest import SHARED_NFL_DATA

EASTERN = ZoneInfo("America/New_York")


def test_code_location_holds_the_elo_definitions():
    definitions = lazy_defs()
    graph = definitions.resolve_asset_graph()
    elo = graph.get(dg.AssetKey("elo_ratings"))

    assert elo.group_name == "elo"
    assert elo.backfill_policy == dg.BackfillPolicy.single_run()
    # The previous season, and the ESPN games (the live poll, the season backfill) the games
    # after the files are rated from.
    assert elo.parent_keys == {dg.AssetKey("elo_ratings"), dg.AssetKey("game_states"), dg.AssetKey("espn_season_games")}
    assert {k.name for k in graph.asset_check_keys if k.asset_key == elo.key} == {
        "zero_sum_per_game", "one_row_per_team_per_game", "ratings_within_bounds",
        "season_brier_score_below_ceiling", "follows_previous_ratings",
    }
    assert definitions.resolve_job_def("elo_ratings_job") is not None
    assert definitions.resolve_schedule_def("elo_current_season_schedule").job_name == "elo_ratings_job"


def test_season_partitions_run_from_1920_to_the_season_in_progress():
    keys = nfl_seasons.get_partition_keys(current_time=datetime(2026, 11, 22, 12, tzinfo=EASTERN))
    assert keys[0] == "1920" and keys[-1] == "2026" and len(keys) == 107
    # January and February games belong to the previous season; a new one opens in March.
    assert nfl_seasons.get_partition_keys(current_time=datetime(2027, 2, 28, 12, tzinfo=EASTERN))[-1] == "2026"
    assert nfl_seasons.get_partition_keys(current_time=datetime(2027, 3, 1, 12, tzinfo=EASTERN))[-1] == "2027"


def test_previous_season_is_the_partition_each_season_depends_on():
    graph = lazy_defs().resolve_asset_graph()
    parents = graph.get_parent_partition_keys_for_child("1990", dg.AssetKey("elo_ratings"), dg.AssetKey("elo_ratings"))
    assert parents.partitions_subset.get_partition_keys() == ["1989"]


@pytest.mark.parametrize(
    ("scheduled", "season"),
    [(datetime(2026, 11, 22, 6, tzinfo=EASTERN), "2026"), (datetime(2027, 2, 8, 6, tzinfo=EASTERN), "2026"),
     (datetime(2027, 9, 10, 6, tzinfo=EASTERN), "2027")],
)
def test_schedule_targets_the_season_of_the_day(scheduled, season):
    request = schedules.elo_current_season_schedule()(dg.build_schedule_context(scheduled_execution_time=scheduled))
    assert request.partition_key == season


def test_schedule_runs_only_in_season():
    schedule = schedules.elo_current_season_schedule()
    assert schedule.cron_schedule == "0 6 * 1,2,9-12 *"
    assert schedule.execution_timezone == "America/New_York"


def test_schedule_is_stopped_by_default(monkeypatch):
    monkeypatch.delenv("PRECOG_DEV_AUTOMATION", raising=False)
    schedule = lazy_defs().resolve_schedule_def("elo_current_season_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_schedule_runs_under_precog_dev_automation(monkeypatch):
    monkeypatch.setenv("PRECOG_DEV_AUTOMATION", "1")
    schedule = lazy_defs().resolve_schedule_def("elo_current_season_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def _configured_source(monkeypatch, **environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with lazy_defs().resources["elo_games"].process_config_and_initialize_cm() as resource:
        assert isinstance(resource, EloGameSourceResource)
        return resource.source()


def test_game_source_defaults_to_the_history_shipped_in_the_package(monkeypatch):
    source = _configured_source(monkeypatch, PRECOG_ELO_HISTORY_DIR=setting("PRECOG_ELO_HISTORY_DIR").default)
    assert source.history_dir == shipped_history_dir()
    assert shipped_history_dir().is_relative_to(Path(precog_pipelines.__file__).parent)
    assert source.files_end == date(2025, 9, 29)


def test_game_source_folder_comes_from_the_environment(monkeypatch, tmp_path):
    source = _configured_source(monkeypatch, PRECOG_ELO_HISTORY_DIR=str(tmp_path))
    assert source.history_dir == tmp_path


def test_shipped_history_is_the_shared_data(tmp_path):
    """The package's copy of the team's NFL data, byte for byte (the product reads only its copy)."""
    for name in ("games_1920_2020.csv", "games_2021_2025.csv", "initial_elos.csv", "season_overrides.csv",
                 "closing_lines_1979_2025.csv"):
        assert (shipped_history_dir() / name).read_bytes() == (SHARED_NFL_DATA / name).read_bytes(), name
