"""Issue 18, findings 9 and 10: `precog elo replay` and the Elo CSV readers refuse nonsense in one
line naming the file, line, field and value, and accept what a spreadsheet legitimately writes.

The CLI tests stop before the warehouse is read (the model version comes from it), so they point
PRECOG_DATABASE_URL at a closed port: a refusal that regressed would fail on that instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from precog_pipelines.cli import precog
from precog_pipelines.lib.elo.csv_files import CsvInputError, read_games, read_initial_ratings, read_overrides

NO_WAREHOUSE = "postgresql://precog@127.0.0.1:1/nowhere"
HEADER = "date,season,neutral,playoff,team1,team2,score1,score2\n"
GAME = "2020-09-10,2020,0,0,KC,HOU,34,20\n"


def replay(*args: str) -> Result:
    return CliRunner().invoke(precog, ["elo", "replay", *args], env={"PRECOG_DATABASE_URL": NO_WAREHOUSE})


def games_file(tmp_path: Path, body: str | bytes, name: str = "games.csv") -> Path:
    path = tmp_path / name
    if isinstance(body, str):
        path.write_text(body, encoding="utf-8")
    else:
        path.write_bytes(body)
    return path


def error_line(result: Result) -> str:
    assert result.exit_code != 0 and (result.exception is None or isinstance(result.exception, SystemExit)), \
        repr(result.exception)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


# ---- Finding 9: files that are not UTF-8 text, fields beyond the csv module's limit -----------


@pytest.mark.parametrize(("content", "message"), [
    (HEADER.encode() + GAME.encode() + "2020-09-11,2020,0,0,K\u00c9,HOU,34,20\n".encode("latin-1"),
     "line 3: is not UTF-8 text (byte 0xc9); save the file as UTF-8"),
    (bytes(range(256)) * 4, "line 2: is not UTF-8 text (byte 0x80); save the file as UTF-8"),
    (HEADER.encode() + GAME.encode() + b"2020-09-11,2020,0,0,KC,HOU,\x00,20\n", "line 3: holds a NUL byte"),
    ((HEADER + "2020-09-10,2020,0,0,KC,HOU,34," + "1" * 140_000 + "\n").encode(),
     "line 2: a field is longer than 131,072 characters"),
])
def test_a_file_that_is_not_text_is_one_line(tmp_path, content, message):
    """Finding 9: a Latin-1 or binary CSV was a UnicodeDecodeError traceback, a field over 131,072
    characters a csv.Error traceback."""
    path = games_file(tmp_path, content)
    with pytest.raises(CsvInputError) as refused:
        read_games(path)
    assert str(refused.value) == f"{path} {message}"
    assert error_line(replay("--games", str(path), "--output", str(tmp_path / "out.csv"))) == f"Error: {path} {message}"


# ---- Finding 10: nonsense the replay accepted ---------------------------------------------------


def test_a_game_listed_twice_in_one_file_is_refused_naming_both_lines(tmp_path):
    """Finding 10: a duplicate game was rated twice (already refused since issue 11; a regression test),
    in either team order."""
    path = games_file(tmp_path, HEADER + GAME + "2020-09-10,2020,0,0,NE,MIA,21,11\n" + "2020-09-10,2020,0,0,HOU,KC,20,34\n")
    expected = f"{path} line 4: game 2020-09-10 HOU-KC is already listed at {path} line 2; a game may appear only once"
    assert error_line(replay("--games", str(path), "--output", str(tmp_path / "out.csv"))) == f"Error: {expected}"


@pytest.mark.parametrize(("reader", "header", "row", "field"), [
    (read_initial_ratings, "team,elo\n", "KC,{}\n", "elo"),
    (read_overrides, "team,season,elo\n", "KC,2020,{}\n", "elo"),
])
@pytest.mark.parametrize("rating", ["1e308", "1e-320", "0.5", "99999", "\uff11\uff15\uff10\uff15", "1_505", "1505e0"])
def test_a_rating_outside_what_elo_means_is_refused(tmp_path, reader, header, row, field, rating):
    """Finding 10: ratings of 1e308 or 1e-320 were accepted (and full-width digits parsed as numbers)."""
    path = games_file(tmp_path, header + row.format(rating), "ratings.csv")
    with pytest.raises(CsvInputError) as refused:
        reader(path)
    assert str(refused.value) == (f"{path} line 2: field '{field}' value {rating!r} is not a rating "
                                  "between 100 and 4000 (digits and at most one decimal point)")


@pytest.mark.parametrize(("row", "field", "value", "reason"), [
    ("2020-09-10,2020,0,0,KC,HOU,{},20", "score1", "1" * 30, "is not a non-negative integer score (0 to 999)"),
    ("2020-09-10,2020,0,0,KC,HOU,34,{}", "score2", "1000", "is not a non-negative integer score (0 to 999)"),
    ("2020-09-10,2020,0,0,KC,HOU,\uff13\uff14,20", "score1", "\uff13\uff14", "is not a non-negative integer score (0 to 999)"),
    ("2020-09-10,2_020,0,0,KC,HOU,34,20", "season", "2_020", "is not a season year between 1869 and 2200"),
    ("2020-09-10,\uff12\uff10\uff12\uff10,0,0,KC,HOU,34,20", "season", "\uff12\uff10\uff12\uff10",
     "is not a season year between 1869 and 2200"),
    ("2020-09-10,+2020,0,0,KC,HOU,34,20", "season", "+2020", "is not a season year between 1869 and 2200"),
    ("2020-09-10,2019,0,0,KC,HOU,34,20", "season", "2019",
     "does not match the date 2020-09-10 (a season's games run from July to March of the next year)"),
    ("2021-04-10,2020,0,0,KC,HOU,34,20", "season", "2020",
     "does not match the date 2021-04-10 (a season's games run from July to March of the next year)"),
    ("20200910,2020,0,0,KC,HOU,34,20", "date", "20200910", "is not a YYYY-MM-DD date"),
    ("2020-W37-4,2020,0,0,KC,HOU,34,20", "date", "2020-W37-4", "is not a YYYY-MM-DD date"),
])
def test_a_game_value_out_of_range_is_refused(tmp_path, row, field, value, reason):
    """Finding 10: 30-digit scores, a season that does not match its date, full-width digits and
    `2_020` were accepted."""
    path = games_file(tmp_path, HEADER + row.format(value) + "\n")
    with pytest.raises(CsvInputError) as refused:
        read_games(path)
    assert str(refused.value) == f"{path} line 2: field '{field}' value {value!r} {reason}"


def test_a_season_spanning_new_year_is_accepted(tmp_path):
    """The playoffs of season 2020 are played in January and February 2021."""
    path = games_file(tmp_path, HEADER + GAME + "2021-02-07,2020,1,1,TB,KC,31,9\n")
    assert [g.season for g in read_games(path)] == [2020, 2020]


def test_a_duplicated_header_column_is_refused(tmp_path):
    """Finding 10: a header naming a column twice was accepted (the last one silently won)."""
    path = games_file(tmp_path, HEADER.replace("\n", ",score2\n") + GAME.replace("\n", ",99\n"))
    with pytest.raises(CsvInputError) as refused:
        read_games(path)
    assert str(refused.value) == f"{path} line 1: header names column 'score2' twice"


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Finding 10: a UTF-8 BOM was refused with "header lacks column(s) date" (already fixed for issue
    11; a regression test): spreadsheet exports start with one."""
    path = games_file(tmp_path, b"\xef\xbb\xbf" + (HEADER + GAME).encode())
    assert len(read_games(path)) == 1


@pytest.mark.parametrize("spelling", ["same", "relative", "hard link", "symlink"])
def test_output_onto_the_games_file_is_refused(tmp_path, spelling, monkeypatch):
    """Finding 10: --output equal to --games overwrote the input (refused since issue 11 for the same
    path; a hard link to it was still overwritten)."""
    games = games_file(tmp_path, HEADER + GAME)
    monkeypatch.chdir(tmp_path)
    output = {"same": games, "relative": Path("./sub/../games.csv"), "hard link": tmp_path / "linked.csv",
              "symlink": tmp_path / "symlinked.csv"}[spelling]
    (tmp_path / "sub").mkdir()
    if spelling == "hard link":
        os.link(games, output)
    if spelling == "symlink":
        output.symlink_to(games)
    error = error_line(replay("--games", str(games), "--output", str(output)))
    assert error == f"Error: Invalid value for '--output': {str(output)!r} is also an input file ({games}); choose another path."
    assert games.read_text() == HEADER + GAME
