"""The shipped NFL files: games, initial ratings, season overrides, closing lines; and replay output.

Every malformed value stops the read with an error naming the file, line, field and value,
so a bad row is fixed at the source instead of silently skewing a century of ratings.
"""

from __future__ import annotations

import csv
import io
import re
import stat
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

_TEAM_CODE = re.compile(r"[A-Z][A-Z0-9]{1,3}")
# ASCII digits only: int() and float() also take full-width digits, "2_020" and "1e308".
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_SCORE = 999
# FiveThirtyEight's ratings stay within about 1150..1850; these bounds only refuse the absurd.
MIN_RATING, MAX_RATING = 100, 4000
# A season's games run from July of its year to March of the next (playoffs, Super Bowl).
SEASON_MONTHS = "a season's games run from July to March of the next year"
_T = TypeVar("_T")


class CsvInputError(ValueError):
    """A CSV file is missing, lacks a column, or holds a value that cannot be used."""


class _Invalid(ValueError):
    """A value failed a parser; the message says what it should have been."""


def _team(value: str) -> str:
    """A FiveThirtyEight or ESPN-style franchise code."""
    if not _TEAM_CODE.fullmatch(value):
        raise _Invalid("is not a team code (a capital letter, then 1-3 capitals or digits)")
    return value


def _integer(value: str, low: int, high: int, expected: str) -> int:
    """An integer of ASCII digits within ``low..high``; ``expected`` is the error's wording."""
    if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
        raise _Invalid(expected)
    return int(value)


def _season(value: str) -> int:
    """A season year within the warehouse's bounds."""
    return _integer(value, 1869, 2200, "is not a season year between 1869 and 2200")


def _score(value: str) -> int:
    """A final score."""
    return _integer(value, 0, MAX_SCORE, f"is not a non-negative integer score (0 to {MAX_SCORE})")


def season_matches(day: date, season: int) -> bool:
    """Whether a game on ``day`` can belong to ``season`` (July of it to March of the next year)."""
    return (day.year == season and day.month >= 7) or (day.year == season + 1 and day.month <= 3)


def _flag(value: str) -> bool:
    """A 0/1 column as a boolean."""
    if value not in ("0", "1"):
        raise _Invalid("is not a 0/1 flag")
    return value == "1"


def _date(value: str) -> date:
    """An ISO calendar date, written YYYY-MM-DD (fromisoformat alone also takes 20200910 and 2020-W37-4)."""
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise _Invalid("is not a YYYY-MM-DD date") from None


def _rating(value: str) -> float:
    """An Elo rating: a plain decimal number between ``MIN_RATING`` and ``MAX_RATING``."""
    if not _DECIMAL.fullmatch(value) or not MIN_RATING <= float(value) <= MAX_RATING:
        raise _Invalid(f"is not a rating between {MIN_RATING} and {MAX_RATING} (digits and at most one decimal point)")
    return float(value)


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


def _text(path: Path) -> str:
    """The file's text: UTF-8 (a byte-order mark, as spreadsheet exports write, is dropped), from a
    regular file (a device or a FIFO would be read without end), without NUL bytes."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise CsvInputError(f"{path}: is not a regular file")
        data = path.read_bytes()
    except OSError as exc:
        raise CsvInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CsvInputError(f"{path} line {line}: is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                            "save the file as UTF-8") from None
    if "\0" in text:
        raise CsvInputError(f"{path} line {text.count(chr(10), 0, text.index(chr(0))) + 1}: holds a NUL byte")
    return text


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str | None]]]:
    """Yield ``(line number, row)`` after checking that the header has every column, once."""
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    try:
        header = reader.fieldnames or ()
        twice = next((name for i, name in enumerate(header) if name in header[:i]), None)
        if twice is not None:
            raise CsvInputError(f"{path} line 1: header names column {twice!r} twice")
        missing = [c for c in columns if c not in header]
        if missing:
            raise CsvInputError(f"{path}: header lacks column(s) {', '.join(missing)} (expected {','.join(columns)})")
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        line = reader.line_num + 1  # the line being read when the reader gave up
        if "field larger than field limit" in str(exc):
            raise CsvInputError(f"{path} line {line}: a field is longer than {csv.field_size_limit():,} characters") from None
        raise CsvInputError(f"{path} line {line}: {exc}") from None


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
        if not season_matches(game.date, game.season):
            raise CsvInputError(f"{path} line {line}: field 'season' value {row['season']!r} does not match the date "
                                f"{game.date} ({SEASON_MONTHS})")
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
