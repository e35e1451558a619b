"""``precog elo replay`` on the shared files, with the model read from a real warehouse."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.lib.elo.csv_files import REPLAY_COLUMNS
from precog_pipelines_tests.conftest import SHARED_NFL_DATA


def run_replay(output: Path, database_url: str, *extra: str, games: Path = SHARED_NFL_DATA / "games_1920_2020.csv"):
    return CliRunner().invoke(
        precog,
        ["elo", "replay", "--games", str(games), "--initial", str(SHARED_NFL_DATA / "initial_elos.csv"),
         "--overrides", str(SHARED_NFL_DATA / "season_overrides.csv"), "--output", str(output),
         "--database-url", database_url, *extra],
    )


def test_replay_reproduces_the_reference_brier_score_and_worked_checks(tmp_path, warehouse_url):
    output = tmp_path / "replay.csv"
    result = run_replay(output, warehouse_url)

    assert result.exit_code == 0, result.output
    assert "16810 games replayed with elo_nfl v1.0" in result.output
    assert "Brier score: 0.208382" in result.output
    with output.open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == REPLAY_COLUMNS
        rows = list(reader)
    assert len(rows) == 16_810
    super_bowl = rows[-1]
    assert (super_bowl["date"], super_bowl["season"], super_bowl["team1"], super_bowl["team2"]) == ("2021-02-07", "2020", "TB", "KC")
    assert float(super_bowl["elo1_pre"]) == pytest.approx(1703.30329600465, abs=1e-3)
    assert float(super_bowl["elo_prob1"]) == pytest.approx(0.4458378304058082, abs=3e-6)
    assert float(super_bowl["elo1_post"]) == pytest.approx(1738.662011, abs=1e-3)
    assert float(super_bowl["elo2_post"]) == pytest.approx(1705.728564, abs=1e-3)


def test_bad_row_is_reported_without_a_traceback(tmp_path, warehouse_url):
    games = tmp_path / "games.csv"
    games.write_text("date,season,neutral,playoff,team1,team2,score1,score2\n2020-09-10,2020,0,0,KC,HOU,34,twenty\n")
    result = run_replay(tmp_path / "out.csv", warehouse_url, games=games)

    assert result.exit_code == 1
    assert f"Error: {games} line 2: field 'score2' value 'twenty' is not a non-negative integer score" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


def test_unknown_model_version_is_reported(tmp_path, warehouse_url):
    result = run_replay(tmp_path / "out.csv", warehouse_url, "--model-version", "9.9")

    assert result.exit_code == 1
    assert "Error: probability_models has no model 'elo_nfl' version '9.9'" in result.output
