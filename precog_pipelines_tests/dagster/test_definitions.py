"""The code location loads, with exactly the definitions and resources we expect."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._config.field_utils import IntEnvVar

from precog_pipelines.definitions import defs as lazy_defs
from precog_pipelines.lib.alert_routing import SHIPPED_ROUTING_FILE
from precog_pipelines.lib.settings import SETTINGS, SettingError, code_location_environment, repository_root, setting
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


def _bound_variables(resources: dict) -> set[str]:
    """The environment variables the resources (and the resources nested in them) are bound to."""
    bound = set()
    for resource in resources.values():
        for value in dict(resource).values():
            if isinstance(value, (dg.EnvVar, IntEnvVar)):  # EnvVar.int() is not an EnvVar subclass
                bound.add(value.env_var_name)
            elif isinstance(value, dg.ConfigurableResource):
                bound |= _bound_variables({"nested": value})
    return bound


def test_resources_read_exactly_the_code_location_settings_precog_dev_exports(monkeypatch):
    for name, value in code_location_environment().items():
        monkeypatch.setenv(name, value or "x" if name != "PRECOG_ELO_HISTORY_DIR" else str(repository_root()))
    monkeypatch.setenv("KALSHI_API_BASE_URL", "http://127.0.0.1:8765/trade-api/v2")
    monkeypatch.setenv("ESPN_API_BASE_URL", "http://127.0.0.1:8765/espn")
    monkeypatch.setenv("PRECOG_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("PRECOG_ALERT_ROUTING_FILE", str(SHIPPED_ROUTING_FILE))
    code_location_settings = {s.name for s in SETTINGS if s.code_location} - {"PRECOG_DEV_AUTOMATION"}
    assert _bound_variables(lazy_defs().resources) == code_location_settings | {"PRECOG_DATABASE_URL"}


def test_unset_settings_leave_the_registry_defaults(monkeypatch):
    for item in SETTINGS:
        monkeypatch.delenv(item.name, raising=False)
    resources = lazy_defs().resources
    assert _bound_variables(resources) == {"PRECOG_DATABASE_URL"}
    assert resources["kalshi"].environment == setting("KALSHI_ENV").default == "demo"
    assert resources["trading"].trading_mode == "paper" and resources["trading"].kalshi.environment == "demo"
    assert resources["kalshi"].series_tickers == "KXNFLGAME"


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("PRECOG_TRADING_MODE", "bogus", "PRECOG_TRADING_MODE 'bogus' is not one of paper, live"),
    ("KALSHI_ENV", "bogus", "KALSHI_ENV 'bogus' is not one of demo, prod"),
    ("PRECOG_DATABASE_URL", "postgresql://",
     "PRECOG_DATABASE_URL 'postgresql://' names no database (postgresql://user:password@host:port/database)"),
])
def test_a_bad_setting_stops_the_code_location_with_one_line(monkeypatch, variable, value, message):
    """Finding 6 of issue "Hardening": with PRECOG_TRADING_MODE=bogus the code location loaded and
    the settlement sensor errored on every tick. Now the load stops, naming the setting."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError) as refused:
        lazy_defs()
    assert str(refused.value) == message


EXPECTED_ASSETS = {"kalshi_series", "kalshi_events", "kalshi_markets", "kalshi_candlesticks", "game_states",
                   "espn_season_games", "elo_ratings", "edges", "positions", "position_marks", "account_balance", "closing_lines",
                   "model_evaluation", "strategy_backtests", "exchange_orders", "exchange_fills", "exchange_positions",
                   "exchange_settlements", "reconciliation"}


def test_the_code_location_holds_exactly_the_expected_definitions(definitions):
    repository = definitions.get_repository_def()
    assets = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert assets == EXPECTED_ASSETS
    assert set(definitions.resources) == {"warehouse", "trading", "alerting", "kalshi", "espn", "elo_games"}
    assert {s.name for s in repository.schedule_defs} == {
        "kalshi_schedule", "kalshi_markets_full_crawl_schedule", "game_states_schedule",
        "elo_current_season_schedule", "portfolio_schedule"}
    assert {s.name for s in repository.sensor_defs} == {
        "position_exit_sensor", "market_settlement_sensor", "alert_on_run_failure", "alert_on_sensor_failure",
        "alert_delivery_sensor",
        "trading_automation_sensor",
        "market_data_stall_sensor",
        "elo_rerate_after_espn_backfill"}
    assert {"position_exit_job", "settlement_job", "elo_ratings_job", "kalshi_markets_full_crawl"} <= {
        j.name for j in repository.get_all_jobs()}
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
        assert node.group_name in {"kalshi", "espn", "elo", "edges", "trading", "evaluation", "portfolio"}, name


SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def definitions_snapshot(definitions: dg.Definitions) -> dict:
    """Every asset with its group, upstream assets, check names and partitioning, and every
    schedule, sensor and job by name: what the UI shows a person of the code location."""
    repository = definitions.get_repository_def()
    graph = repository.asset_graph
    snapshot: dict = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        snapshot[key.to_user_string()] = {
            "group": node.group_name, "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "checks": sorted(c.name for c in graph.asset_check_keys if c.asset_key == key),
            "partitioned": node.partitions_def is not None,
        }
    snapshot["__schedules__"] = sorted(s.name for s in repository.schedule_defs)
    snapshot["__sensors__"] = sorted(s.name for s in repository.sensor_defs)
    snapshot["__jobs__"] = sorted(j.name for j in repository.get_all_jobs() if not j.name.startswith("__"))
    return snapshot


def test_the_asset_graph_checks_schedules_and_sensors_are_the_snapshot(definitions):
    """A change to what the code location defines is a change to this snapshot, made on purpose
    (regenerate it with ``definitions_snapshot`` and review the diff)."""
    assert definitions_snapshot(definitions) == json.loads(SNAPSHOT.read_text())
