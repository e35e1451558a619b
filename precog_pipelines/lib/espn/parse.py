"""ESPN scoreboard events into :class:`GameState` (ESPN_API.md sections 3 to 5).

Every key is treated as optional and checked: a value we cannot use raises
:class:`EspnParseError` naming the event id, the field (as a path) and the value. The state is
classified on ``state`` + ``completed`` (postponed and canceled games are ``post`` and not
completed), never on the status name. Teams are keyed by ESPN team id, not abbreviation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from precog_pipelines.lib.wire_values import fixed_point, short_repr, utc_timestamp, whole_number

US_EASTERN = ZoneInfo("America/New_York")
STATES = frozenset({"pre", "in", "post"})
# ESPN's placeholders for playoff teams not yet known (ESPN_API.md section 8).
TBD_TEAM_IDS = frozenset({-1, -2})
# The warehouse columns' ranges (sql/0002): a value outside them is this game's reject, not a
# failed scoreboard batch.
MAX_SCORE = 2_147_483_647
MAX_PERIOD = 32_767
SEASON_YEARS = (1869, 2200)
SEASON_TYPES = (1, 4)
WEEKS = (0, 30)

TeamMapping = Mapping[int, int] | Callable[[int], int | None]


class EspnError(Exception):
    """Base class of everything the ESPN client raises."""


class EspnParseError(EspnError, ValueError):
    """An event field is missing or unusable; ``key`` is the ESPN event id when known."""

    def __init__(self, key: str | None, field: str, value: Any, reason: str) -> None:
        self.key = key
        self.field = field
        self.value = short_repr(value)
        self.reason = reason
        super().__init__(f"ESPN event {key or '<unknown id>'}: {field} {reason} (got {self.value})")


@dataclass(frozen=True)
class GameState:
    """One game as the scoreboard shows it now.

    ``home_team_id``/``away_team_id`` are OUR team ids when a mapping was given, else None.
    ``game_date`` is the US-Eastern calendar date of kickoff (the date ESPN and Kalshi use).
    """

    espn_game_id: str
    home_espn_team_id: int
    away_espn_team_id: int
    home_abbreviation: str | None
    away_abbreviation: str | None
    home_team_id: int | None
    away_team_id: int | None
    home_score: int
    away_score: int
    period: int
    clock_seconds: Decimal
    display_clock: str | None
    state: str
    status_name: str
    status_detail: str | None
    completed: bool
    situation: dict | None
    neutral_site: bool
    kickoff: datetime | None
    kickoff_time_valid: bool
    season_year: int | None
    season_type: int | None
    week: int | None
    game_date: date | None

    @property
    def is_final(self) -> bool:
        """Played to a result (postponed/canceled games are post but never final)."""
        return self.state == "post" and self.completed

    @property
    def is_live(self) -> bool:
        return self.state == "in"


class _Event:
    """Checked access to one raw event; failures name the id, the path and the value."""

    def __init__(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise EspnParseError(None, "event", raw, "is not a JSON object")
        self.raw = raw
        event_id = raw.get("id")
        self.key = str(event_id) if isinstance(event_id, (str, int)) and not isinstance(event_id, bool) else None

    def fail(self, path: str, value: Any, reason: str) -> EspnParseError:
        return EspnParseError(self.key, path, value, reason)

    def obj(self, parent: dict, key: str, path: str, *, required: bool = True) -> dict:
        value = parent.get(key)
        if isinstance(value, dict):
            return value
        if value is None and not required:
            return {}
        raise self.fail(path, value, "is missing or not an object")

    def integer(self, parent: dict, key: str, path: str, *, default: int | None = None, minimum: int = 0,
                maximum: int | None = None) -> int | None:
        value = parent.get(key)
        if value is None:
            return default
        try:
            number = whole_number(value)
        except ValueError:
            raise self.fail(path, value, "is not an integer") from None
        if number < minimum:
            raise self.fail(path, value, f"is below {minimum}")
        if maximum is not None and number > maximum:
            raise self.fail(path, value, f"is above {maximum}")
        return number


def parse_game_state(raw: Any, teams: TeamMapping | None = None, *, season: Mapping[str, Any] | None = None) -> GameState:
    """One ``events[]`` item of a scoreboard.

    ``teams`` maps ESPN team id -> our team id (a dict or a callable returning None for
    unknown); an unknown id is an error. ``season`` is the scoreboard's top-level
    ``{"season": ..., "week": ...}``, used when the event lacks its own.
    """
    e = _Event(raw)
    if e.key is None or not e.key.isdigit():
        raise e.fail("id", raw.get("id"), "is not a numeric ESPN event id")
    competitions = raw.get("competitions")
    if not isinstance(competitions, list) or not competitions or not isinstance(competitions[0], dict):
        raise e.fail("competitions", competitions, "is missing or empty")
    competition = competitions[0]
    status = competition.get("status") if isinstance(competition.get("status"), dict) else raw.get("status")
    if not isinstance(status, dict):
        raise e.fail("competitions[0].status", status, "is missing or not an object")
    status_type = e.obj(status, "type", "status.type")

    state = status_type.get("state")
    if state not in STATES:
        raise e.fail("status.type.state", state, f"is not one of {sorted(STATES)}")
    completed = status_type.get("completed", False)
    if not isinstance(completed, bool):
        raise e.fail("status.type.completed", completed, "is not a boolean")
    if completed and state != "post":
        raise e.fail("status.type.completed", completed, f"is true while state is {state!r}")
    status_name = status_type.get("name")
    if not isinstance(status_name, str) or not status_name.startswith("STATUS_"):
        raise e.fail("status.type.name", status_name, "is not an ESPN status name (STATUS_...)")

    home, away = _competitors(e, competition)
    home_id, home_abbr, home_score = _competitor(e, home, "home", state)
    away_id, away_abbr, away_score = _competitor(e, away, "away", state)

    clock = status.get("clock", 0)
    try:
        clock_seconds = fixed_point(clock if clock is not None else 0, max_places=6)
    except ValueError as error:
        raise e.fail("status.clock", clock, str(error)) from None
    if clock_seconds < 0:
        raise e.fail("status.clock", clock, "is negative")

    kickoff = _kickoff(e, competition.get("date") or raw.get("date"))
    event_season = raw.get("season") if isinstance(raw.get("season"), dict) else {}
    board_season = (season or {}).get("season") if isinstance((season or {}).get("season"), dict) else {}
    event_week = raw.get("week") if isinstance(raw.get("week"), dict) else (season or {}).get("week") or {}
    situation = competition.get("situation")

    return GameState(
        espn_game_id=e.key,
        home_espn_team_id=home_id,
        away_espn_team_id=away_id,
        home_abbreviation=home_abbr,
        away_abbreviation=away_abbr,
        home_team_id=_map_team(e, teams, home_id, "home"),
        away_team_id=_map_team(e, teams, away_id, "away"),
        home_score=home_score,
        away_score=away_score,
        period=e.integer(status, "period", "status.period", default=0, maximum=MAX_PERIOD),
        clock_seconds=clock_seconds,
        display_clock=status.get("displayClock") if isinstance(status.get("displayClock"), str) else None,
        state=state,
        status_name=status_name,
        status_detail=status_type.get("detail") if isinstance(status_type.get("detail"), str) else None,
        completed=completed,
        situation=situation if state == "in" and isinstance(situation, dict) else None,
        neutral_site=competition.get("neutralSite") is True,
        kickoff=kickoff,
        kickoff_time_valid=competition.get("timeValid", True) is not False,
        season_year=_ranged(e, (event_season, board_season), "year", "season.year", SEASON_YEARS),
        season_type=_ranged(e, (event_season, board_season), "type", "season.type", SEASON_TYPES),
        week=e.integer(event_week, "number", "week.number", minimum=WEEKS[0], maximum=WEEKS[1])
        if isinstance(event_week, dict) else None,
        game_date=kickoff.astimezone(US_EASTERN).date() if kickoff else None,
    )


def iter_event_payloads(scoreboard: Any) -> Iterator[Any]:
    """The raw ``events[]`` of a scoreboard response (for per-event parsing and rejects)."""
    if not isinstance(scoreboard, dict):
        raise EspnParseError(None, "scoreboard", scoreboard, "is not a JSON object")
    events = scoreboard.get("events", [])
    if not isinstance(events, list):
        raise EspnParseError(None, "events", events, "is not a list")
    yield from events


def season_context(scoreboard: dict) -> dict[str, Any]:
    """The scoreboard's top-level season and week (absent on ``dates=YYYYMMDD`` queries)."""
    return {key: scoreboard[key] for key in ("season", "week") if isinstance(scoreboard.get(key), dict)}


def _competitors(e: _Event, competition: dict) -> tuple[dict, dict]:
    competitors = competition.get("competitors")
    if not isinstance(competitors, list) or len(competitors) != 2:
        raise e.fail("competitions[0].competitors", competitors, "is not a list of two teams")
    by_side = {c.get("homeAway"): c for c in competitors if isinstance(c, dict)}
    if set(by_side) != {"home", "away"}:
        raise e.fail("competitors[].homeAway", sorted(map(str, by_side)), "is not one home and one away team")
    return by_side["home"], by_side["away"]


def _competitor(e: _Event, competitor: dict, side: str, state: str) -> tuple[int, str | None, int]:
    team = competitor.get("team") if isinstance(competitor.get("team"), dict) else {}
    raw_id = team.get("id", competitor.get("id"))
    try:
        team_id = whole_number(raw_id)
    except ValueError:
        raise e.fail(f"{side} team.id", raw_id, "is not an ESPN team id") from None
    if team_id in TBD_TEAM_IDS:
        raise e.fail(f"{side} team.id", raw_id, "is a placeholder: the teams of this game are not known yet (TBD)")
    if team_id <= 0:
        raise e.fail(f"{side} team.id", raw_id, "is not a positive ESPN team id")
    abbreviation = team.get("abbreviation") if isinstance(team.get("abbreviation"), str) else None
    score = competitor.get("score")
    if score is None or score == "":
        if state != "pre":
            raise e.fail(f"{side} score", score, f"is missing while the game is {state!r}")
        return team_id, abbreviation, 0
    if isinstance(score, dict):  # the partners/team-schedule shape {value, displayValue}
        score = score.get("value")
    try:
        points = whole_number(score)
    except ValueError:
        raise e.fail(f"{side} score", score, "is not an integer") from None
    if points < 0:
        raise e.fail(f"{side} score", score, "is negative")
    if points > MAX_SCORE:
        raise e.fail(f"{side} score", score, f"is above {MAX_SCORE}")
    return team_id, abbreviation, points


def _ranged(e: _Event, parents: tuple[dict, ...], key: str, path: str, bounds: tuple[int, int]) -> int | None:
    """The first of ``parents`` that has ``key`` (event before scoreboard), within ``bounds``."""
    for parent in parents:
        number = e.integer(parent, key, path, minimum=bounds[0], maximum=bounds[1])
        if number is not None:
            return number
    return None


def _kickoff(e: _Event, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return utc_timestamp(value)
    except ValueError as error:
        raise e.fail("date", value, str(error)) from None


def _map_team(e: _Event, teams: TeamMapping | None, espn_id: int, side: str) -> int | None:
    if teams is None:
        return None
    team_id = teams(espn_id) if callable(teams) else teams.get(espn_id)
    if team_id is None:
        raise e.fail(f"{side} team.id", espn_id, "is not an ESPN team id in our teams table")
    return team_id
