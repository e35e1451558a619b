"""FiveThirtyEight's classic Elo, replayed game by game (shared/reference/ELO_SPEC.md).

The engine is generic in how teams are named: the CSV replay uses FiveThirtyEight's franchise
codes, the warehouse replay uses ``teams.id``. Ratings are kept at full float precision and
never rounded between games; the arithmetic follows the reference code's order of operations
so that results agree with the published ratings to the last digits that matter.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, NamedTuple, TypeVar

from precog_pipelines.lib.elo.config import EloConfig

Team = TypeVar("Team", bound=Hashable)


class EloReplayError(ValueError):
    """The games cannot be replayed as given (e.g. out of date order)."""


@dataclass(frozen=True, slots=True)
class Game(Generic[Team]):
    """One final game; ``team1`` is the home (or designated) team."""

    date: date
    season: int
    neutral: bool
    playoff: bool
    team1: Team
    team2: Team
    score1: int
    score2: int

    @property
    def result1(self) -> float:
        """1 when team1 won, 0 when it lost, 0.5 for a tie."""
        if self.score1 > self.score2:
            return 1.0
        if self.score1 < self.score2:
            return 0.0
        return 0.5


class RatedGame(NamedTuple, Generic[Team]):
    """A game with both teams' ratings before (after any season reversion) and after it.

    A named tuple because the replay makes one per game and tuples are the cheapest to build.
    """

    game: Game[Team]
    elo1_pre: float
    elo2_pre: float
    prob1: float
    elo1_post: float
    elo2_post: float


@dataclass(slots=True)
class EloState(Generic[Team]):
    """Each team's latest rating and the season of its latest game.

    A team absent from ``ratings`` has never played: its first game starts from its initial
    rating. A team whose ``seasons`` entry is older than the game's season is reverted first.
    """

    ratings: dict[Team, float] = field(default_factory=dict)
    seasons: dict[Team, int] = field(default_factory=dict)

    def set(self, team: Team, rating: float, season: int) -> None:
        """Record ``team``'s rating after its latest game, played in ``season``."""
        self.ratings[team] = rating
        self.seasons[team] = season


def win_probability(config: EloConfig, diff: float) -> float:
    """Probability that the team with rating advantage ``diff`` (hfa included) wins."""
    return 1.0 / (10.0 ** (-diff / config.rating_scale) + 1.0)


def margin_multiplier(config: EloConfig, margin: int, winner_diff: float) -> float:
    """The margin-of-victory multiplier; ``winner_diff`` is ignored for a tie (margin 0)."""
    m = config.margin_multiplier
    divisor = m.tie_divisor if margin == 0 else winner_diff * m.rating_diff_coefficient + m.offset
    return math.log(max(abs(margin), 1) + 1.0) * (m.scale / divisor)


def season_start_rating(config: EloConfig, rating: float) -> float:
    """The rating carried into a new season: regressed toward the mean, once."""
    return config.reversion_mean + (rating - config.reversion_mean) * config.reversion_keep_fraction


def replay(
    games: Iterable[Game[Team]],
    config: EloConfig,
    *,
    initial_ratings: Mapping[Team, float],
    overrides: Mapping[tuple[Team, int], float],
    state: EloState[Team] | None = None,
) -> list[RatedGame[Team]]:
    """Replay ``games`` (in date order) from ``state``, which is updated in place.

    ``initial_ratings`` gives a franchise's first rating (``config.new_team_rating`` when it
    has none); ``overrides`` replaces the season-start reversion for ``(team, season)``.
    """
    state = state if state is not None else EloState()
    ratings, seasons = state.ratings, state.seasons
    hfa, k = config.home_field_advantage, config.k_factor
    new_team_rating = config.new_team_rating
    rated: list[RatedGame[Team]] = []
    previous_date: date | None = None

    def pre_game_rating(team: Team, season: int) -> float:
        """Initial rating at a first game; override or reversion at a season's first game."""
        if team not in ratings:
            return initial_ratings.get(team, new_team_rating)
        if seasons[team] < season:
            override = overrides.get((team, season))
            return season_start_rating(config, ratings[team]) if override is None else override
        return ratings[team]

    for game in games:
        if previous_date is not None and game.date < previous_date:
            raise EloReplayError(
                f"games must be in date order: {game.date} {game.team1}-{game.team2} "
                f"comes after a game on {previous_date}"
            )
        previous_date = game.date
        season = game.season
        elo1, elo2 = pre_game_rating(game.team1, season), pre_game_rating(game.team2, season)
        diff = elo1 - elo2 + (0.0 if game.neutral else hfa)
        prob1 = win_probability(config, diff)
        result1 = game.result1
        margin = game.score1 - game.score2
        mult = margin_multiplier(config, margin, diff if margin > 0 else -diff)
        shift = k * mult * (result1 - prob1)
        post1, post2 = elo1 + shift, elo2 - shift
        ratings[game.team1], seasons[game.team1] = post1, season
        ratings[game.team2], seasons[game.team2] = post2, season
        rated.append(RatedGame(game, elo1, elo2, prob1, post1, post2))
    return rated
