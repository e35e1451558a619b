"""FiveThirtyEight's CSV files: clean reads of the shared data, and errors that name the file,
line, field and value."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from precog_pipelines.lib.elo.csv_files import (
    REPLAY_COLUMNS,
    CsvInputError,
    read_games,
    read_initial_ratings,
    read_overrides,
    write_replay,
)
from precog_pipelines.lib.elo.engine import Game, RatedGame
from precog_pipelines_tests.conftest import SHARED_NFL_DATA

GAMES_HEADER = "date,season,neutral,playoff,team1,team2,score1,score2\n"


def test_shared_files_read_completely():
    games = read_games(SHARED_NFL_DATA / "games_1920_2020.csv")
    initial = read_initial_ratings(SHARED_NFL_DATA / "initial_elos.csv")
    overrides = read_overrides(SHARED_NFL_DATA / "season_overrides.csv")

    assert len(games) == 16_810
    assert games[0] == Game(date(1920, 9, 26), 1920, False, False, "RII", "STP", 48, 0)
    assert sum(g.score1 == g.score2 for g in games) == 316
    assert sum(g.neutral for g in games) == 92
    assert sum(g.playoff for g in games) == 590
    assert len(initial) == 123 and initial["RII"] == 1503.947
    assert len(overrides) == 11 and overrides[("CLE", 1999)] == 1300.0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2020-09-13,2020,0,0,KC,HOU,34,x", r"line 3: field 'score2' value 'x' is not a non-negative integer score"),
        ("2020-09-13,2020,0,0,KC,HOU,34,-1", r"line 3: field 'score2' value '-1' is not a non-negative integer score"),
        ("2020-13-13,2020,0,0,KC,HOU,34,20", r"line 3: field 'date' value '2020-13-13' is not a YYYY-MM-DD date"),
        ("2020-09-13,20x0,0,0,KC,HOU,34,20", r"line 3: field 'season' value '20x0' is not a season year"),
        ("2020-09-13,2020,2,0,KC,HOU,34,20", r"line 3: field 'neutral' value '2' is not a 0/1 flag"),
        ("2020-09-13,2020,0,0,kc,HOU,34,20", r"line 3: field 'team1' value 'kc' is not a team code"),
        ("2020-09-13,2020,0,0,KC,KC,34,20", r"line 3: field 'team2' value 'KC' is the same team as team1"),
        ("2020-09-13,2020,0,0,KC,HOU", r"line 3: field 'score1' is missing"),
        ("2020-09-01,2020,0,0,KC,HOU,34,20", r"line 3: field 'date' value '2020-09-01' is earlier than the previous game's 2020-09-10"),
    ],
)
def test_bad_game_row_is_named(tmp_path, row, message):
    path = tmp_path / "games.csv"
    path.write_text(GAMES_HEADER + "2020-09-10,2020,0,0,KC,HOU,34,20\n" + row + "\n")
    with pytest.raises(CsvInputError, match=rf"{path}.*{message}"):
        read_games(path)


@pytest.mark.parametrize(
    ("reader", "content", "message"),
    [
        (read_games, "date,season,neutral,team1,team2,score1,score2\n", r"header lacks column\(s\) playoff"),
        (read_initial_ratings, "team,elo\nKC,1500\nHOU,abc\n", r"line 3: field 'elo' value 'abc' is not a rating between 100 and 4000"),
        (read_initial_ratings, "team,elo\nKC,1500\nKC,1400\n", r"line 3: field 'team' value 'KC' appears twice"),
        (read_overrides, "team,season,elo\nKC,2020,-5\n", r"line 2: field 'elo' value '-5' is not a rating between 100 and 4000"),
        (read_overrides, "team,season,elo\nKC,2020,1500\nKC,2020,1400\n", r"line 3: team 'KC' season 2020 appears twice"),
    ],
)
def test_bad_file_is_named(tmp_path, reader, content, message):
    path = tmp_path / "input.csv"
    path.write_text(content)
    with pytest.raises(CsvInputError, match=rf"{path}:? {message}"):
        reader(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CsvInputError, match=rf"{tmp_path / 'nope.csv'}: cannot be read"):
        read_initial_ratings(tmp_path / "nope.csv")


def test_replay_output_keeps_full_precision(tmp_path):
    g = Game(date(2020, 9, 10), 2020, False, False, "KC", "HOU", 34, 20)
    rated = RatedGame(g, 1700.1234567890123, 1500.000000000001, 0.7777777777777777, 1710.9876543210987, 1489.1357913579135)
    path = tmp_path / "out.csv"

    assert write_replay(path, [rated]) == 1
    rows = list(csv.DictReader(path.open()))
    assert tuple(rows[0]) == REPLAY_COLUMNS
    assert rows[0]["date"] == "2020-09-10" and rows[0]["team1"] == "KC"
    assert float(rows[0]["elo2_pre"]) == 1500.000000000001
    assert float(rows[0]["elo_prob1"]) == 0.7777777777777777
