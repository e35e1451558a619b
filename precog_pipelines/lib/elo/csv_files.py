"""The shipped NFL files: games, initial ratings, season overrides, closing lines; and replay output.

Every malformed value stops the read with an error naming the file, line, field and value,
so a bad row is fixed at the source instead of silently skewing a century of ratings.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from precog_pipelines.lib.elo.engine import Game, RatedGame

GAMES_COLUMNS = ("date", "season", "neutral", "playoff", "team1", "team2", "score1", "score2")
INITIAL_COLUMNS = ("team", "elo")
OVERRIDE_COLUMNS = ("team", "season", "elo")
CLOSING_LINE_COLUMNS = ("date", "season", "team1", "team2", "favorite", "spread_favorite", "over_under")
PICK = "PICK"
REPLAY_COLUMNS = ("date", "season", "team1", "team2", "elo1_pre", "elo2_pre", "elo_prob1", "elo1_post", "elo2_post")

_TEAM_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,3}$")
_T = TypeVar("_T")


class CsvInputError(ValueError):
    """A CSV file is missing, lacks a column, or holds a value that cannot be used."""


class _Invalid(ValueError):
    """A value failed a parser; the message says what it should have been."""


def _team(value: str) -> str:
    """A FiveThirtyEight or ESPN-style franchise code."""
    if not _TEAM_CODE.match(value):
        raise _Invalid("is not a team code (a capital letter, then 1-3 capitals or digits)")
    return value


def _integer(value: str, expected: str) -> int:
    """An integer; ``expected`` names it in the error."""
    try:
        return int(value)
    except ValueError:
        raise _Invalid(f"is not {expected}") from None


def _season(value: str) -> int:
    """A season year within the warehouse's bounds."""
    season = _integer(value, "a season year")
    if not 1869 <= season <= 2200:
        raise _Invalid("is not a season year between 1869 and 2200")
    return season


def _score(value: str) -> int:
    """A final score."""
    score = _integer(value, "a non-negative integer score")
    if score < 0:
        raise _Invalid("is not a non-negative integer score")
    return score


def _flag(value: str) -> bool:
    """A 0/1 column as a boolean."""
    if value not in ("0", "1"):
        raise _Invalid("is not a 0/1 flag")
    return value == "1"


def _date(value: str) -> date:
    """An ISO calendar date."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Invalid("is not a YYYY-MM-DD date") from None


def _rating(value: str) -> float:
    """A positive, finite Elo rating."""
    try:
        rating = float(value)
    except ValueError:
        raise _Invalid("is not a number") from None
    if not math.isfinite(rating) or rating <= 0:
        raise _Invalid("is not a positive rating")
    return rating


def _points(value: str) -> Decimal:
    """A point spread or total: a number of points with at most one decimal, below 100 in size."""
    try:
        points = Decimal(value)
    except InvalidOperation:
        raise _Invalid("is not a number of points") from None
    if not points.is_finite() or points != points.quantize(Decimal("0.1")) or abs(points) >= 100:
        raise _Invalid("is not a number of points with at most one decimal, below 100")
    return points


def _favorite(value: str) -> str:
    """The team the line favours, or PICK when it favours neither."""
    return value if value == PICK else _team(value)


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str | None]]]:
    """Yield ``(line number, row)`` after checking that the header has every column."""
    try:
        # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the first column name.
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CsvInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise CsvInputError(f"{path}: header lacks column(s) {', '.join(missing)} (expected {','.join(columns)})")
        for row in reader:
            yield reader.line_num, row


def _field(path: Path, line: int, row: dict[str, str | None], name: str, parse: Callable[[str], _T]) -> _T:
    """One parsed field, or an error naming file, line, field and value."""
    value = row.get(name)
    if value is None:
        raise CsvInputError(f"{path} line {line}: field '{name}' is missing (the row is short)")
    try:
        return parse(value.strip())
    except _Invalid as exc:
        raise CsvInputError(f"{path} line {line}: field '{name}' value {value!r} {exc}") from None


def read_numbered_games(path: Path) -> list[tuple[int, Game[str]]]:
    """The games file as ``(line number, game)``, in file order (which must be date order)."""
    games: list[tuple[int, Game[str]]] = []
    for line, row in _rows(path, GAMES_COLUMNS):
        game = Game(
            date=_field(path, line, row, "date", _date),
            season=_field(path, line, row, "season", _season),
            neutral=_field(path, line, row, "neutral", _flag),
            playoff=_field(path, line, row, "playoff", _flag),
            team1=_field(path, line, row, "team1", _team),
            team2=_field(path, line, row, "team2", _team),
            score1=_field(path, line, row, "score1", _score),
            score2=_field(path, line, row, "score2", _score),
        )
        if game.team1 == game.team2:
            raise CsvInputError(f"{path} line {line}: field 'team2' value {game.team2!r} is the same team as team1")
        if games and game.date < games[-1][1].date:
            raise CsvInputError(
                f"{path} line {line}: field 'date' value '{game.date}' is earlier than the previous game's "
                f"{games[-1][1].date}; games must be sorted by date"
            )
        games.append((line, game))
    return games


def read_games(path: Path) -> list[Game[str]]:
    """The games file, in file order (which must be date order); a game listed twice is refused."""
    return read_game_files([path])


def game_identity(game: Game[Any]) -> tuple[date, frozenset]:
    """What makes two rows the same game, whichever source wrote them: the day and the two
    teams, in either order (sources may designate a different home team at a neutral site)."""
    return game.date, frozenset((game.team1, game.team2))


def read_game_files(paths: Sequence[Path]) -> list[Game[str]]:
    """Several games files as one history in date order; see :func:`read_tagged_game_files`."""
    return [game for game, _ in read_tagged_game_files([(path, None) for path in paths])]


def read_tagged_game_files(files: Sequence[tuple[Path, _T]]) -> list[tuple[Game[str], _T]]:
    """Several games files as one history in date order (a file's own order kept within a
    day), each game with its file's tag. The same game in two places is refused with both
    places named, so that no game is ever rated twice."""
    seen: dict[tuple[date, frozenset], str] = {}
    tagged: list[tuple[date, int, Game[str], _T]] = []
    for path, tag in files:
        for line, game in read_numbered_games(path):
            where = f"{path} line {line}"
            first = seen.setdefault(game_identity(game), where)
            if first != where:
                raise CsvInputError(
                    f"{where}: game {game.date} {game.team1}-{game.team2} is already listed at {first}; "
                    "a game may appear only once"
                )
            tagged.append((game.date, len(tagged), game, tag))
    tagged.sort(key=lambda item: item[:2])
    return [(game, tag) for _, _, game, tag in tagged]


def read_initial_ratings(path: Path) -> dict[str, float]:
    """Each franchise's rating at its first game."""
    ratings: dict[str, float] = {}
    for line, row in _rows(path, INITIAL_COLUMNS):
        team = _field(path, line, row, "team", _team)
        if team in ratings:
            raise CsvInputError(f"{path} line {line}: field 'team' value {team!r} appears twice")
        ratings[team] = _field(path, line, row, "elo", _rating)
    return ratings


def read_overrides(path: Path) -> dict[tuple[str, int], float]:
    """Season-start ratings that replace the reversion, by ``(team, season)``."""
    overrides: dict[tuple[str, int], float] = {}
    for line, row in _rows(path, OVERRIDE_COLUMNS):
        key = (_field(path, line, row, "team", _team), _field(path, line, row, "season", _season))
        if key in overrides:
            raise CsvInputError(f"{path} line {line}: team {key[0]!r} season {key[1]} appears twice")
        overrides[key] = _field(path, line, row, "elo", _rating)
    return overrides


def write_replay(path: Path, rated: Iterable[RatedGame[Any]]) -> int:
    """Write one row per game (``REPLAY_COLUMNS``) with full-precision floats; return the count."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPLAY_COLUMNS)
        for r in rated:
            g = r.game
            # repr() is the shortest string that reads back as the same float.
            writer.writerow((g.date.isoformat(), g.season, g.team1, g.team2,
                             repr(r.elo1_pre), repr(r.elo2_pre), repr(r.prob1), repr(r.elo1_post), repr(r.elo2_post)))
            count += 1
    return count


@dataclass(frozen=True, slots=True)
class ClosingLine:
    """A game's closing point spread, from team1's (the home team's) side."""

    date: date
    season: int
    team1: str
    team2: str
    home_spread: Decimal  # team1's line: -3 when team1 is favoured by 3 points, 0 for a pick'em
    over_under: Decimal | None

    @property
    def expected_home_margin(self) -> float:
        """The margin the line expects team1 to win by."""
        return float(-self.home_spread)


def read_closing_lines(path: Path) -> list[ClosingLine]:
    """The closing-lines file (``CLOSING_LINE_COLUMNS``); a game listed twice is refused."""
    lines: list[ClosingLine] = []
    seen: dict[tuple[date, frozenset], int] = {}
    for line, row in _rows(path, CLOSING_LINE_COLUMNS):
        day, season = _field(path, line, row, "date", _date), _field(path, line, row, "season", _season)
        team1, team2 = _field(path, line, row, "team1", _team), _field(path, line, row, "team2", _team)
        favorite = _field(path, line, row, "favorite", _favorite)
        spread = _field(path, line, row, "spread_favorite", _points)
        total = row.get("over_under")
        over_under = _field(path, line, row, "over_under", _points) if total and total.strip() else None
        if favorite not in (team1, team2, PICK):
            raise CsvInputError(f"{path} line {line}: field 'favorite' value {favorite!r} is neither team1 {team1!r}, "
                                f"team2 {team2!r} nor {PICK}")
        if spread > 0 or (favorite == PICK and spread != 0):
            raise CsvInputError(f"{path} line {line}: field 'spread_favorite' value '{spread}' must be negative "
                                f"(the favourite's line), or 0 for {PICK}")
        first = seen.setdefault((day, frozenset((team1, team2))), line)
        if first != line:
            raise CsvInputError(f"{path} line {line}: game {day} {team1}-{team2} is already listed at line {first}")
        home_spread = spread if favorite == team1 else -spread if favorite == team2 else Decimal(0)
        lines.append(ClosingLine(day, season, team1, team2, home_spread + 0, over_under))
    return lines
