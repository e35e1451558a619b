"""``precog strategy`` and ``precog model`` version management on a migrated test warehouse: a
version is created once from a checked YAML file and never edited; activation and deactivation
need a reason and are recorded with who and when; a bad file writes nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from psycopg import errors

from precog_pipelines.cli import precog
from precog_pipelines.lib.elo.rating_run import rate_seasons
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.warehouse.server import connect

STRATEGY = """\
name: default_paper
version: "1.2"
description: The default paper strategy with a wider stop loss
config:
  min_edge: 0.04
  stake_per_trade: 20
  max_open_exposure: 200.00
  exit_rules:
    stop_loss: 0.15
    profit_target: 0.20
    trailing_stop_distance: 0.10
    exit_minutes_before_close: 30
    limit_attempts: 2
"""

MODEL = """\
name: elo_nfl
version: "3.0"
type: elo
league: nfl
description: K 25
config:
  k_factor: 25
  home_field_advantage: 65
  rating_scale: 400
  reversion_mean: 1505
  reversion_keep_fraction: 0.6666666666666666
  new_team_rating: 1300
  margin_multiplier: {scale: 2.2, rating_diff_coefficient: 0.001, offset: 2.2, tie_divisor: 1.0}
"""


@pytest.fixture
def run(warehouse_url):
    def invoke(*args: str):
        return CliRunner().invoke(precog, [*args, "--database-url", warehouse_url])
    return invoke


def _file(tmp_path, text: str, name: str = "version.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _counts(url: str) -> tuple[int, int, int]:
    with connect(url) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM strategies), (SELECT count(*) FROM probability_models), "
                            "(SELECT count(*) FROM version_activations)").fetchone()


def _events(url: str, kind: str, name: str, version: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute("SELECT action, actor, reason FROM version_activations WHERE kind = %s AND name = %s "
                            "AND version = %s ORDER BY id", (kind, name, version)).fetchall()


def test_strategy_create_activate_deactivate_is_recorded(run, warehouse_url, tmp_path):
    created = run("strategy", "create", "--file", _file(tmp_path, STRATEGY), "--actor", "ana")
    assert created.exit_code == 0, created.output
    assert "created strategy default_paper v1.2" in created.output and "inactive" in created.output
    with connect(warehouse_url) as conn:
        config, active = conn.execute("SELECT config, is_active FROM strategies WHERE strategy_name = 'default_paper' "
                                      "AND strategy_version = '1.2'").fetchone()
    assert not active
    assert config["min_edge"] == "0.04" and config["max_open_exposure"] == "200.00"
    assert config["exit_rules"]["limit_attempts"] == 2

    listed = run("strategy", "list")
    assert listed.exit_code == 0, listed.output
    lines = {line.split("  ")[0]: line for line in listed.output.splitlines()}
    assert "active, in use" in lines["default_paper v1.1"] and "inactive" in lines["default_paper v1.2"]

    activated = run("strategy", "activate", "default_paper", "1.2", "--reason", "wider stop after review",
                    "--actor", "ana")
    assert activated.exit_code == 0, activated.output
    assert "in use now: default_paper v1.2" in activated.output  # the newest active version is traded
    listed = run("strategy", "list").output
    assert "superseded by a newer active version" in next(line for line in listed.splitlines() if "v1.1" in line)

    deactivated = run("strategy", "deactivate", "default_paper", "1.2", "--reason", "back to 1.1", "--actor", "bo")
    assert deactivated.exit_code == 0, deactivated.output
    assert "in use now: default_paper v1.1" in deactivated.output
    assert _events(warehouse_url, "strategy", "default_paper", "1.2") == [
        ("created", "ana", None), ("activated", "ana", "wider stop after review"), ("deactivated", "bo", "back to 1.1")]

    shown = run("strategy", "show", "default_paper", "1.2")
    assert shown.exit_code == 0, shown.output
    assert "state: inactive" in shown.output and '"min_edge": "0.04"' in shown.output
    assert "activated    by ana: wider stop after review" in shown.output
    assert "deactivated  by bo: back to 1.1" in shown.output


def test_an_existing_name_and_version_is_refused_and_nothing_changes(run, warehouse_url, tmp_path):
    before = _counts(warehouse_url)
    again = run("strategy", "create", "--file", _file(tmp_path, STRATEGY.replace('"1.2"', '"1.0"')))
    assert again.exit_code == 1
    assert again.output == ("Error: strategy default_paper v1.0 exists already; versions are never edited: "
                            "create a new version number\n")
    assert _counts(warehouse_url) == before
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT config->>'min_edge' FROM strategies WHERE strategy_name = 'default_paper' "
                            "AND strategy_version = '1.0'").fetchone()[0] == "0.03"


@pytest.mark.parametrize("kind,text,field", [
    ("strategy", STRATEGY.replace("min_edge: 0.04", "min_edge: 1.04"), "min_edge 1.04 is outside 0..1"),
    ("strategy", STRATEGY.replace("stake_per_trade: 20", "stake_per_trade: -20"), "stake_per_trade -20 is outside"),
    ("strategy", STRATEGY.replace("    limit_attempts: 2", "    limit_attempts: 0"),
     "exit_rules.limit_attempts 0 must be an integer >= 1"),
    ("model", MODEL.replace("k_factor: 25", "k_factor: -25"), "'k_factor' must be positive, got -25"),
    ("model", MODEL.replace("type: elo", "type: glicko"), "type 'glicko' must be one of elo"),
])
def test_a_bad_value_prints_one_line_naming_field_and_value_and_writes_nothing(run, warehouse_url, tmp_path, kind,
                                                                               text, field):
    before = _counts(warehouse_url)
    path = _file(tmp_path, text)
    result = run(kind, "create", "--file", path)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith(f"Error: {path}: ")
    assert field in result.output
    assert _counts(warehouse_url) == before


def test_activate_and_deactivate_need_a_reason(run, warehouse_url):
    before = _counts(warehouse_url)
    missing = run("model", "activate", "elo_nfl", "2.0")
    assert missing.exit_code == 2 and "Missing option '--reason'" in missing.output
    blank = run("model", "activate", "elo_nfl", "2.0", "--reason", "  ")
    assert blank.exit_code == 1 and blank.output == "Error: --reason must say why, in 1 to 2000 characters\n"
    assert _counts(warehouse_url) == before


@pytest.mark.parametrize("args,message", [
    (("model", "activate", "elo_nfl", "1.0"), "Error: model elo_nfl v1.0 is already active\n"),
    (("model", "deactivate", "elo_nfl", "2.0"), "Error: model elo_nfl v2.0 is already inactive\n"),
    (("strategy", "activate", "nothing", "1.0"), "Error: no strategy nothing v1.0\n"),
    (("model", "show", "elo_nfl", "9.9"), "Error: no model elo_nfl v9.9\n"),
])
def test_a_change_that_changes_nothing_is_refused(run, warehouse_url, args, message):
    before = _counts(warehouse_url)
    result = run(*args, "--reason", "r") if args[1] != "show" else run(*args)
    assert (result.exit_code, result.output) == (1, message)
    assert _counts(warehouse_url) == before


def test_a_hand_written_version_that_does_not_validate_cannot_be_activated(run, warehouse_url):
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute("INSERT INTO strategies (strategy_name, strategy_version, config, is_active) "
                     "VALUES ('legacy', '1.0', '{\"min_edge\": 0.05}', false)")
    result = run("strategy", "activate", "legacy", "1.0", "--reason", "try it")
    assert result.exit_code == 1
    assert result.output == ("Error: strategy legacy v1.0: min_edge 0.05 must be a string or integer, not a float; "
                             "stake_per_trade is missing; max_open_exposure is missing\n")
    assert _events(warehouse_url, "strategy", "legacy", "1.0") == []


def test_model_versions_are_created_activated_and_shown_with_their_use(run, warehouse_url, tmp_path):
    created = run("model", "create", "--file", _file(tmp_path, MODEL), "--actor", "ana")
    assert created.exit_code == 0, created.output
    activated = run("model", "activate", "elo_nfl", "3.0", "--reason", "K 25 beat 1.0 out of sample", "--actor", "ana")
    assert activated.exit_code == 0, activated.output
    assert "in use now: elo_nfl v1.0, elo_nfl v3.0" in activated.output  # every active version gets edges
    shown = run("model", "show", "elo_nfl", "3.0")
    assert shown.exit_code == 0, shown.output
    assert "model elo_nfl v3.0 (nfl)" in shown.output and "state: active, in use" in shown.output
    assert "current edges: 0" in shown.output and '"k_factor": 25' in shown.output
    assert _events(warehouse_url, "model", "elo_nfl", "3.0") == [
        ("created", "ana", None), ("activated", "ana", "K 25 beat 1.0 out of sample")]

    for version in ("1.0", "3.0"):
        assert run("model", "deactivate", "elo_nfl", version, "--reason", "retire").exit_code == 0
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM probability_models WHERE is_active").fetchone()[0] == 0
    listed = run("model", "list")
    assert listed.exit_code == 0 and listed.output.count("inactive") == 3


def test_the_seeded_versions_have_their_creation_recorded(db):
    rows = db.execute("SELECT kind, name, version, action, actor FROM version_activations ORDER BY kind, name, version"
                      ).fetchall()
    assert rows == [("model", "elo_nfl", "1.0", "created", "migration"), ("model", "elo_nfl", "2.0", "created", "migration"),
                    ("strategy", "default_paper", "1.0", "created", "migration"),
                    ("strategy", "default_paper", "1.1", "created", "migration")]


def test_version_activations_is_append_only(db):
    row = db.execute("SELECT id FROM version_activations LIMIT 1").fetchone()[0]
    with pytest.raises(errors.RestrictViolation, match="version_activations is append-only: UPDATE"):
        db.execute("UPDATE version_activations SET actor = 'someone else' WHERE id = %s", (row,))
    with pytest.raises(errors.RestrictViolation, match="version_activations is append-only: DELETE"):
        db.execute("DELETE FROM version_activations WHERE id = %s", (row,))
    with pytest.raises(errors.RestrictViolation, match="version_activations is append-only: TRUNCATE"):
        db.execute("TRUNCATE version_activations")
    with pytest.raises(errors.CheckViolation):
        db.execute("INSERT INTO version_activations (kind, version_id, name, version, action, actor) "
                   "VALUES ('model', 1, 'elo_nfl', '1.0', 'activated', 'x')")  # an activation needs a reason


def test_a_model_version_whose_ratings_lag_the_league_cannot_be_activated(run, warehouse_url, tmp_path):
    """An unrated version's edges would start every team from the new-team rating."""
    with connect(warehouse_url) as conn:
        rate_seasons(conn, GameSource(), "elo_nfl", "1.0", 1920, 1925)
        conn.commit()
    assert run("model", "create", "--file", _file(tmp_path, MODEL)).exit_code == 0
    before = _counts(warehouse_url)
    refused = run("model", "activate", "elo_nfl", "3.0", "--reason", "try")
    assert (refused.exit_code, refused.output) == (1, (
        "Error: model elo_nfl v3.0 is not rated but nfl ratings reach 1925: its edges would start teams from "
        "scratch; rate it first (precog model evaluate --model elo_nfl:3.0 --output F.csv)\n"))
    with connect(warehouse_url) as conn:
        rate_seasons(conn, GameSource(), "elo_nfl", "3.0", 1920, 1924, update_current_ratings=False)
        conn.commit()
    assert _counts(warehouse_url) == before
    assert run("model", "activate", "elo_nfl", "3.0", "--reason", "rated now").exit_code == 0  # one season behind
