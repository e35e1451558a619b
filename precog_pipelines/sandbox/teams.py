"""The franchises the sandbox schedules, spelled as each source spells them.

ESPN ids and abbreviations from ESPN_API.md section 8; Kalshi codes and the short place names
Kalshi uses in titles (``"Los Angeles C"``). Washington, Jacksonville and the Rams are here
on purpose: Kalshi spells them WAS, JAC and LA (2025-season tickers) or LAR (2026 on).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Team:
    espn_id: int
    espn_abbreviation: str
    location: str
    name: str
    kalshi_name: str
    color: str
    kalshi_code_2025: str | None = None  # when Kalshi's code differs from ESPN's

    @property
    def display_name(self) -> str:
        return f"{self.location} {self.name}"

    def kalshi_code(self, season: int) -> str:
        if self.espn_abbreviation == "LAR":
            return "LA" if season <= 2025 else "LAR"
        return self.kalshi_code_2025 or self.espn_abbreviation


TEAMS: dict[str, Team] = {
    team.espn_abbreviation: team
    for team in (
        Team(8, "DET", "Detroit", "Lions", "Detroit", "0076b6"),
        Team(28, "WSH", "Washington", "Commanders", "Washington", "5a1414", kalshi_code_2025="WAS"),
        Team(30, "JAX", "Jacksonville", "Jaguars", "Jacksonville", "007487", kalshi_code_2025="JAC"),
        Team(10, "TEN", "Tennessee", "Titans", "Tennessee", "4b92db"),
        Team(14, "LAR", "Los Angeles", "Rams", "Los Angeles R", "003594"),
        Team(25, "SF", "San Francisco", "49ers", "San Francisco", "aa0000"),
        Team(12, "KC", "Kansas City", "Chiefs", "Kansas City", "e31837"),
        Team(2, "BUF", "Buffalo", "Bills", "Buffalo", "00338d"),
        Team(21, "PHI", "Philadelphia", "Eagles", "Philadelphia", "004c54"),
        Team(6, "DAL", "Dallas", "Cowboys", "Dallas", "002a5c"),
        Team(33, "BAL", "Baltimore", "Ravens", "Baltimore", "29126f"),
        Team(23, "PIT", "Pittsburgh", "Steelers", "Pittsburgh", "000000"),
        Team(15, "MIA", "Miami", "Dolphins", "Miami", "008e97"),
        Team(20, "NYJ", "New York", "Jets", "New York J", "115740"),
        # The rest of the league: the history the sandbox serves (2021-2025) has every franchise.
        Team(22, "ARI", "Arizona", "Cardinals", "Arizona", "a40227"),
        Team(1, "ATL", "Atlanta", "Falcons", "Atlanta", "a71930"),
        Team(29, "CAR", "Carolina", "Panthers", "Carolina", "0085ca"),
        Team(3, "CHI", "Chicago", "Bears", "Chicago", "0b1c3a"),
        Team(4, "CIN", "Cincinnati", "Bengals", "Cincinnati", "fb4f14"),
        Team(5, "CLE", "Cleveland", "Browns", "Cleveland", "472a08"),
        Team(7, "DEN", "Denver", "Broncos", "Denver", "0a2343"),
        Team(9, "GB", "Green Bay", "Packers", "Green Bay", "204e32"),
        Team(34, "HOU", "Houston", "Texans", "Houston", "00143f"),
        Team(11, "IND", "Indianapolis", "Colts", "Indianapolis", "003b75"),
        Team(13, "LV", "Las Vegas", "Raiders", "Las Vegas", "000000"),
        Team(24, "LAC", "Los Angeles", "Chargers", "Los Angeles C", "0080c6"),
        Team(16, "MIN", "Minnesota", "Vikings", "Minnesota", "4f2683"),
        Team(17, "NE", "New England", "Patriots", "New England", "002a5c"),
        Team(18, "NO", "New Orleans", "Saints", "New Orleans", "d3bc8d"),
        Team(19, "NYG", "New York", "Giants", "New York G", "003c7f"),
        Team(26, "SEA", "Seattle", "Seahawks", "Seattle", "002a5c"),
        Team(27, "TB", "Tampa Bay", "Buccaneers", "Tampa Bay", "bd1c36"),
    )
}
# FiveThirtyEight spells every current franchise as ESPN does but the Raiders (OAK).
FIVETHIRTYEIGHT_CODES = {"OAK": "LV"}


def team_for_fivethirtyeight_code(code: str) -> Team:
    """The franchise a FiveThirtyEight code names (the history files use those codes)."""
    return TEAMS[FIVETHIRTYEIGHT_CODES.get(code, code)]
