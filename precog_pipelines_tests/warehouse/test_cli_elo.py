"""``precog elo replay`` on the shared files and on the shipped history, with the model read from a real warehouse."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from precog_pipelines.lib.elo.config import EloConfig
from precog_pipelines.lib.elo.csv_files import REPLAY_COLUMNS
from precog_pipelines.lib.elo.store import load_model
from precog_pipelines_tests.conftest import SHARED_NFL_DATA
from precog_pipelines_tests.support.elo import ELO_NFL_V1, run_replay

# The CSV replay of the 1920-2020 file before the history reached the present (commit 36c6b51):
# the ratings of those games must never change.
REPLAY_1920_2020_SHA256 = "70caf9e527e442c5e395bb715e7c10cd3fba62718693152b3ff2171e956dac3a"


def test_replay_reproduces_the_reference_brier_score_and_worked_checks(tmp_path, warehouse_url):
    output = tmp_path / "replay.csv"
    result = run_replay(output, warehouse_url)

    assert result.exit_code == 0, result.output
    assert "16810 games replayed with elo_nfl v1.0" in result.output
    assert "Brier score: 0.208382" in result.output
    assert hashlib.sha256(output.read_bytes()).hexdigest() == REPLAY_1920_2020_SHA256
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


def test_replay_without_files_rates_the_shipped_history_to_2025(tmp_path, warehouse_url):
    output = tmp_path / "replay.csv"
    result = run_replay(output, warehouse_url, games=None)

    assert result.exit_code == 0, result.output
    assert "18013 games replayed with elo_nfl v1.0" in result.output
    lines = output.read_bytes().decode().splitlines(keepends=True)
    assert len(lines) == 1 + 18_013
    # 1920-2020 bit-identical to the replay of FiveThirtyEight's file alone...
    assert hashlib.sha256("".join(lines[:1 + 16_810]).encode()).hexdigest() == REPLAY_1920_2020_SHA256
    rows = list(csv.DictReader(lines))
    assert rows[-1]["date"] == "2025-09-29" and {r["season"] for r in rows[16_810:]} == {str(s) for s in range(2021, 2026)}
    # ...and 2021 continues them with the season reversion, as at every new season.
    last_2020 = {}
    for row in rows[:16_810]:
        last_2020[row["team1"]], last_2020[row["team2"]] = float(row["elo1_post"]), float(row["elo2_post"])
    opener = rows[16_810]
    assert (opener["date"], opener["team1"], opener["team2"]) == ("2021-09-09", "TB", "DAL")
    assert float(opener["elo1_pre"]) == 1505 + (last_2020["TB"] - 1505) * 2 / 3
    assert float(opener["elo2_pre"]) == 1505 + (last_2020["DAL"] - 1505) * 2 / 3


def test_games_may_be_given_more_than_once_but_a_game_only_once(tmp_path, warehouse_url):
    both = ["--games", str(SHARED_NFL_DATA / "games_2021_2025.csv")]
    result = run_replay(tmp_path / "two.csv", warehouse_url, *both)
    assert result.exit_code == 0, result.output
    assert "18013 games replayed" in result.output
    assert (tmp_path / "two.csv").read_bytes() == _shipped_replay(tmp_path, warehouse_url)

    overlap = tmp_path / "overlap.csv"
    overlap.write_text("date,season,neutral,playoff,team1,team2,score1,score2\n2021-09-09,2021,0,0,DAL,TB,29,31\n")
    result = run_replay(tmp_path / "dup.csv", warehouse_url, *both, "--games", str(overlap))
    assert result.exit_code == 1
    assert (f"Error: {overlap} line 2: game 2021-09-09 DAL-TB is already listed at "
            f"{SHARED_NFL_DATA / 'games_2021_2025.csv'} line 2; a game may appear only once") in result.output
    assert not (tmp_path / "dup.csv").exists()


def test_output_onto_an_input_is_refused(tmp_path, warehouse_url):
    games = tmp_path / "games.csv"
    games.write_bytes((SHARED_NFL_DATA / "games_2021_2025.csv").read_bytes())
    result = run_replay(games, warehouse_url, games=games)
    assert result.exit_code == 2
    assert f"Error: Invalid value for '--output': '{games}' is also an input file ({games})" in result.output
    assert games.read_bytes() == (SHARED_NFL_DATA / "games_2021_2025.csv").read_bytes()


def _shipped_replay(tmp_path: Path, warehouse_url: str) -> bytes:
    output = tmp_path / "shipped.csv"
    assert run_replay(output, warehouse_url, games=None).exit_code == 0
    return output.read_bytes()


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


def test_the_seeded_model_version_is_the_spec(db):
    """The engine's unit tests use the spec's parameters; the migrations seed the same."""
    assert load_model(db, "elo_nfl", "1.0").config == EloConfig.from_mapping(ELO_NFL_V1)
