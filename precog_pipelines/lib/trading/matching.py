"""Matching a Kalshi game market to its game: the date and team codes in the ticker.

NFL game tickers read ``KXNFLGAME-<YY><MON><DD><AWAY><HOME>-<TEAM>``: the US-Eastern date,
the away and home teams in Kalshi's spelling run together, and the team whose win the market
pays on (KALSHI_API.md pitfall 12). Codes are two or three letters, so the split between away
and home is found by trying the known Kalshi codes; an ambiguous or unknown split is no match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

_TICKER = re.compile(
    r"^(?P<series>[A-Z0-9]+)-(?P<yy>[0-9]{2})(?P<month>[A-Z]{3})(?P<day>[0-9]{2})(?P<teams>[A-Z]{4,8})-(?P<team>[A-Z]{2,4})$"
)
_MONTHS = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}


@dataclass(frozen=True)
class GameMarket:
    ticker: str
    game_date: date
    away_team_id: int
    home_team_id: int
    team_id: int

    @property
    def team_is_home(self) -> bool:
        return self.team_id == self.home_team_id


def parse_game_market(ticker: str, kalshi_team_ids: Mapping[str, int]) -> GameMarket | None:
    """The game a market is about, or None when the ticker is not a game market we can read."""
    match = _TICKER.match(ticker)
    if match is None or match["month"] not in _MONTHS:
        return None
    try:
        game_date = date(2000 + int(match["yy"]), _MONTHS[match["month"]], int(match["day"]))
    except ValueError:
        return None
    teams = match["teams"]
    splits = [
        (kalshi_team_ids[teams[:cut]], kalshi_team_ids[teams[cut:]])
        for cut in range(2, len(teams) - 1)
        if teams[:cut] in kalshi_team_ids and teams[cut:] in kalshi_team_ids
    ]
    team_id = kalshi_team_ids.get(match["team"])
    if len(splits) != 1 or team_id not in splits[0]:
        return None
    away, home = splits[0]
    return GameMarket(ticker, game_date, away, home, team_id)
