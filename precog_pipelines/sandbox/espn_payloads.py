"""ESPN scoreboard JSON for the sandbox world, in the shape of
shared/reference/examples/espn/nfl_scoreboard_in_progress.json (ESPN_API.md sections 3 to 5):
string scores, per-period linescores once a game started, ``situation`` on live games,
minute-precision UTC dates, and US-Eastern detail texts; and the finals of past seasons
(:mod:`.espn_history`) for season/week queries."""

from __future__ import annotations

import re
from datetime import date, datetime

from precog_pipelines.sandbox.espn_history import REGULAR_SEASON, PastGame, shipped_past_games
from precog_pipelines.sandbox.teams import Team
from precog_pipelines.sandbox.world import US_EASTERN, Game, GameSnapshot, SandboxWorld, game_snapshot, unit

STATUS_DESCRIPTIONS = {
    "STATUS_SCHEDULED": "Scheduled",
    "STATUS_IN_PROGRESS": "In Progress",
    "STATUS_HALFTIME": "Halftime",
    "STATUS_FINAL": "Final",
    "STATUS_POSTPONED": "Postponed",
}
PERIOD_NAMES = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "OT"}
SEASON_SLUGS = {1: "preseason", 2: "regular-season", 3: "post-season", 4: "off-season"}


ESPN_BAD_REQUEST = {"code": 400, "message": "Failed to get events endpoint."}


def scoreboard_response(world: SandboxWorld, query: dict[str, str], now: datetime) -> tuple[int, dict]:
    """``GET .../scoreboard``: no parameters (the current week), ``dates=YYYYMMDD`` (one
    US-Eastern day), or ``dates=YYYY&seasontype=N&week=N`` (the simulated week and the shipped
    results of 2021-2025). Ranges answer 400 as ESPN has since September 2026."""
    dates = query.get("dates", "")
    games = list(world.games)
    if not dates:
        return 200, scoreboard_payload(games, now, seed=world.seed, with_week=True)
    if re.fullmatch(r"\d{8}", dates):
        try:
            day = date(int(dates[:4]), int(dates[4:6]), int(dates[6:]))
        except ValueError:
            return 400, ESPN_BAD_REQUEST
        chosen = [game for game in games if game.event_date == day]
        past = [game for game in shipped_past_games() if game.event_date == day]
        return 200, scoreboard_payload(chosen, now, seed=world.seed, with_week=False, past=past)
    season_type, week = query.get("seasontype", ""), query.get("week", "")
    if re.fullmatch(r"\d{4}", dates) and season_type.isdigit() and week.isdigit():
        season, kind, number = int(dates), int(season_type), int(week)
        chosen = [g for g in games if g.season == season and kind == REGULAR_SEASON and g.week == number]
        past = [g for g in shipped_past_games() if (g.season, g.season_type, g.week) == (season, kind, number)]
        payload = scoreboard_payload(chosen, now, seed=world.seed, with_week=True, past=past)
        payload |= {"season": {"type": kind, "year": season}, "week": {"number": number}}
        return 200, payload
    return 400, ESPN_BAD_REQUEST


def scoreboard_payload(games: list[Game], now: datetime, *, seed: int, with_week: bool,
                       past: list[PastGame] = ()) -> dict:
    """The scoreboard for the simulated ``games`` at ``now`` and the ``past`` games' finals;
    ``with_week`` adds top-level season and week, which ESPN sends on no-parameter and week
    queries but not on ``dates=YYYYMMDD``."""
    first = games[0] if games else None
    season = first.season if first else (past[0].season if past else None)
    payload: dict = {"leagues": [_league(season)] if season else []}
    if with_week and first is not None:
        payload["season"] = {"type": REGULAR_SEASON, "year": first.season}
        payload["week"] = {"number": first.week}
    payload["events"] = [_past_event(game) for game in past] + [
        _event(game, game_snapshot(game, now), seed, now) for game in games]
    return payload


def _league(season: int) -> dict:
    return {
        "id": "28",
        "uid": "s:20~l:28",
        "name": "National Football League",
        "abbreviation": "NFL",
        "slug": "nfl",
        "season": {
            "year": season,
            "displayName": str(season),
            "type": {"id": "2", "type": 2, "name": "Regular Season", "abbreviation": "reg"},
        },
        "calendarType": "list",
        "calendar": [],
    }


def _event(game: Game, snap: GameSnapshot, seed: int, now: datetime) -> dict:
    situation = _situation(game, snap, seed, now) if snap.state == "in" else None
    return _event_payload(game.espn_id, game.kickoff, game.home, game.away, snap, season=game.season,
                          season_type=REGULAR_SEASON, week=game.week, neutral_site=False, situation=situation)


def _past_event(game: PastGame) -> dict:
    """A final of the shipped history: real teams, scores and neutral flag; no quarter scores."""
    final = GameSnapshot("post", "3", "STATUS_FINAL", True, 4, 0, game.home_score, game.away_score, (), (), 3600.0)
    return _event_payload(game.espn_id, game.kickoff, game.home, game.away, final, season=game.season,
                          season_type=game.season_type, week=game.week, neutral_site=game.neutral_site,
                          situation=None)


def _event_payload(espn_id: str, kickoff_at: datetime, home: Team, away: Team, snap: GameSnapshot, *, season: int,
                   season_type: int, week: int, neutral_site: bool, situation: dict | None) -> dict:
    kickoff = f"{kickoff_at:%Y-%m-%dT%H:%MZ}"
    status = _status(kickoff_at, snap)
    competition = {
        "id": espn_id,
        "uid": f"s:20~l:28~e:{espn_id}~c:{espn_id}",
        "date": kickoff,
        "attendance": 0,
        "type": {"id": "1", "abbreviation": "STD"},
        "timeValid": True,
        "neutralSite": neutral_site,
        "conferenceCompetition": False,
        "playByPlayAvailable": True,
        "recent": snap.state != "pre",
        "venue": {"id": str(3700 + home.espn_id), "fullName": f"{home.location} Stadium",
                  "address": {"city": home.location, "country": "USA"}, "indoor": False},
        "competitors": [
            _competitor(home, "home", 0, snap.home_score, snap.home_linescores, snap, snap.away_score),
            _competitor(away, "away", 1, snap.away_score, snap.away_linescores, snap, snap.home_score),
        ],
        "notes": [],
        "status": status | {"isTBDFlex": False},
        "broadcasts": [{"market": "national", "names": ["FOX"]}],
        "format": {"regulation": {"periods": 4}},
        "startDate": kickoff,
        "broadcast": "FOX",
    }
    if situation is not None:
        competition["situation"] = situation
    return {
        "id": espn_id,
        "uid": f"s:20~l:28~e:{espn_id}",
        "date": kickoff,
        "name": f"{away.display_name} at {home.display_name}",
        "shortName": f"{away.espn_abbreviation} {'VS' if neutral_site else '@'} {home.espn_abbreviation}",
        "season": {"year": season, "type": season_type, "slug": SEASON_SLUGS[season_type]},
        "week": {"number": week},
        "competitions": [competition],
        "links": [],
        "status": status,
    }


def _competitor(team: Team, side: str, order: int, score: int, lines: tuple[int, ...], snap: GameSnapshot,
                other_score: int) -> dict:
    competitor = {
        "id": str(team.espn_id),
        "uid": f"s:20~l:28~t:{team.espn_id}",
        "type": "team",
        "order": order,
        "homeAway": side,
        "team": {
            "id": str(team.espn_id),
            "uid": f"s:20~l:28~t:{team.espn_id}",
            "location": team.location,
            "name": team.name,
            "abbreviation": team.espn_abbreviation,
            "displayName": team.display_name,
            "shortDisplayName": team.name,
            "color": team.color,
            "alternateColor": "ffffff",
            "isActive": True,
            "logo": f"https://a.espncdn.com/i/teamlogos/nfl/500/scoreboard/{team.espn_abbreviation.lower()}.png",
        },
        "score": str(score),
        "statistics": [],
    }
    if snap.state != "pre" and snap.status_name != "STATUS_POSTPONED":
        competitor["linescores"] = [
            {"value": float(points), "displayValue": str(points), "period": period}
            for period, points in enumerate(lines, start=1)
        ]
    if snap.completed:
        competitor["winner"] = score > other_score
    return competitor


def _status(kickoff: datetime, snap: GameSnapshot) -> dict:
    display_clock = f"{snap.clock // 60}:{snap.clock % 60:02d}"
    name = snap.status_name
    kind = {"id": snap.status_id, "name": name, "state": snap.state, "completed": snap.completed,
            "description": STATUS_DESCRIPTIONS[name]}
    if name == "STATUS_SCHEDULED":
        local = kickoff.astimezone(US_EASTERN)
        time_text = f"{local:%I:%M %p}".lstrip("0") + f" {local.tzname()}"
        kind["detail"] = f"{local:%a, %B} {_ordinal(local.day)} at {time_text}"
        kind["shortDetail"] = f"{local.month}/{local.day} - {time_text}"
    elif name == "STATUS_IN_PROGRESS":
        period = PERIOD_NAMES[snap.period]
        kind["detail"] = f"{display_clock} - {period}" + (" Quarter" if snap.period <= 4 else "")
        kind["shortDetail"] = f"{display_clock} - {period}"
    elif name == "STATUS_FINAL" and snap.period > 4:
        kind |= {"detail": "Final/OT", "shortDetail": "Final/OT", "altDetail": "OT"}
    else:
        kind |= {"detail": STATUS_DESCRIPTIONS[name], "shortDetail": STATUS_DESCRIPTIONS[name]}
    return {"clock": float(snap.clock), "displayClock": display_clock, "period": snap.period, "type": kind}


def _situation(game: Game, snap: GameSnapshot, seed: int, now: datetime) -> dict:
    minute = int(now.timestamp() // 60)
    timeouts = {"homeTimeouts": 3 - int(unit(seed, game.espn_id, "hto", snap.period > 2) * 2),
                "awayTimeouts": 3 - int(unit(seed, game.espn_id, "ato", snap.period > 2) * 2)}
    if snap.halftime:
        return timeouts  # no possession around halftime
    offense = game.home if unit(seed, game.espn_id, minute, "possession") < 0.5 else game.away
    yard_line = 1 + int(unit(seed, game.espn_id, minute, "yard") * 98)  # yards from the HOME goal line
    down = 1 + int(unit(seed, game.espn_id, minute, "down") * 4)
    distance = 1 + int(unit(seed, game.espn_id, minute, "distance") * 10)
    side = game.home if yard_line <= 50 else game.away
    marker = yard_line if yard_line <= 50 else 100 - yard_line
    to_goal = 100 - yard_line if offense is game.home else yard_line
    spot = f"{side.espn_abbreviation} {marker}"
    return timeouts | {
        "down": down,
        "yardLine": yard_line,
        "distance": distance,
        "downDistanceText": f"{_ordinal(down)} & {distance} at {spot}",
        "shortDownDistanceText": f"{_ordinal(down)} & {distance}",
        "possessionText": spot,
        "isRedZone": to_goal <= 20,
        "possession": str(offense.espn_id),
        "lastPlay": {"id": f"{game.espn_id}{minute % 10000:04d}", "type": {"id": "5", "text": "Rush"},
                     "text": f"Rush to the {spot}.", "scoreValue": 0, "team": {"id": str(offense.espn_id)}},
    }


def _ordinal(number: int) -> str:
    suffix = "th" if 11 <= number % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
