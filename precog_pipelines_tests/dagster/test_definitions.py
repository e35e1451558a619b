"""The code location loads, with exactly the definitions and resources we expect."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._config.field_utils import IntEnvVar

from precog_pipelines.cli.dev_stack import SETTING_DEFAULTS
from precog_pipelines.definitions import defs as lazy_defs
from precog_pipelines.lib.settings import repository_root
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines_tests.conftest import create_database, drop_database, unique_name


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return lazy_defs()


def test_definitions_are_loadable(definitions):
    dg.Definitions.validate_loadable(definitions)


def test_warehouse_resource_is_bound_from_the_environment(definitions):
    warehouse = definitions.resources["warehouse"]
    assert isinstance(warehouse, WarehouseResource)
    assert set(definitions.resources) >= {"warehouse"}


def test_warehouse_url_comes_from_precog_database_url(definitions, monkeypatch):
    monkeypatch.setenv("PRECOG_DATABASE_URL", "postgresql://precog@db.invalid/precog")
    with definitions.resources["warehouse"].process_config_and_initialize_cm() as configured:
        assert configured.database_url == "postgresql://precog@db.invalid/precog"


def test_dg_check_defs_passes(tmp_path, postgres_server_url):
    """`dg check defs`, Dagster's own validation, run against our dagster.yaml."""
    name = unique_name("precog_test_dg_check")
    dagster_url = create_database(postgres_server_url, name)
    shutil.copyfile(repository_root() / "dagster.yaml", tmp_path / "dagster.yaml")
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "dg"), "check", "defs"],
            cwd=repository_root(), capture_output=True, text=True, timeout=300,
            env=os.environ | {"DAGSTER_HOME": str(tmp_path), "DAGSTER_PG_URL": dagster_url},
        )
    finally:
        drop_database(postgres_server_url, name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_precog_dev_exports_every_variable_the_resources_read(definitions):
    read = {
        value.env_var_name
        for resource in definitions.resources.values()
        for value in dict(resource).values()
        if isinstance(value, (dg.EnvVar, IntEnvVar))  # EnvVar.int() is not an EnvVar subclass
    }
    assert read == set(SETTING_DEFAULTS) | {"PRECOG_DATABASE_URL"}


EXPECTED_ASSETS = {"kalshi_series", "kalshi_events", "kalshi_markets", "game_states", "espn_season_games",
                   "elo_ratings", "edges", "positions", "account_balance", "closing_lines", "model_evaluation",
                   "strategy_backtests"}


def test_the_code_location_holds_exactly_the_expected_definitions(definitions):
    repository = definitions.get_repository_def()
    assets = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert assets == EXPECTED_ASSETS
    assert set(definitions.resources) == {"warehouse", "trading", "alerting", "kalshi", "espn", "elo_games"}
    assert {s.name for s in repository.schedule_defs} == {
        "kalshi_schedule", "game_states_schedule", "elo_current_season_schedule"}
    assert {s.name for s in repository.sensor_defs} == {
        "position_exit_sensor", "market_settlement_sensor", "alert_on_run_failure", "trading_automation_sensor",
        "elo_rerate_after_espn_backfill"}
    assert {"position_exit_job", "settlement_job", "elo_ratings_job"} <= {j.name for j in repository.get_all_jobs()}
    checked = {key.asset_key.to_user_string() for key in repository.asset_graph.asset_check_keys}
    assert checked == EXPECTED_ASSETS, "every asset carries checks"


def test_every_asset_has_a_description_owner_kinds_and_group(definitions):
    graph = definitions.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description and len(node.description) > 80, name
        assert node.owners == ["team:precog"], name
        assert {"postgres", "python"} <= set(node.kinds), name
        assert node.group_name in {"kalshi", "espn", "elo", "edges", "trading", "evaluation"}, name
