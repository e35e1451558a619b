"""The Elo engine against FiveThirtyEight's published values, with the ``elo_nfl`` v1.0
parameters as ELO_SPEC.md states them (no database: ``warehouse/test_cli_elo.py`` checks that the
seeded row holds the same)."""

from __future__ import annotations

import copy
import math
from datetime import date
from types import SimpleNamespace

import pytest

from precog_pipelines.lib.elo.config import EloConfig, EloConfigError
from precog_pipelines.lib.elo.engine import (
    EloReplayError,
    EloState,
    Game,
    margin_multiplier,
    replay,
    season_start_rating,
    win_probability,
)
from precog_pipelines.lib.elo.report import forecasts
from precog_pipelines.lib.elo.scoring import brier_score, log_loss
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines_tests.support.elo import ELO_NFL_V1


@pytest.fixture(scope="module")
def nfl_config() -> EloConfig:
    """elo_nfl v1.0 as the spec states it."""
    return EloConfig.from_mapping(ELO_NFL_V1, source="elo_nfl v1.0")


@pytest.fixture(scope="module")
def history() -> SimpleNamespace:
    """FiveThirtyEight's reference: its games 1920-2020, initial ratings and overrides."""
    shipped = GameSource()
    return SimpleNamespace(games=[g for g in shipped.games if g.season <= 2020],
                           initial_ratings=shipped.initial_ratings, overrides=shipped.overrides)


def game(day: str, team1: str, team2: str, score1: int, score2: int, *, season: int | None = None,
         neutral: bool = False) -> Game[str]:
    d = date.fromisoformat(day)
    return Game(d, season if season is not None else d.year, neutral, False, team1, team2, score1, score2)


def one_game(config: EloConfig, g: Game[str], elo1: float, elo2: float):
    """Replay a single game from given pre-game ratings (both teams already in that season)."""
    state = EloState({g.team1: elo1, g.team2: elo2}, {g.team1: g.season, g.team2: g.season})
    return replay([g], config, initial_ratings={}, overrides={}, state=state)[0]


def test_worked_check_super_bowl_at_a_neutral_site(nfl_config):
    g = game("2021-02-07", "TB", "KC", 31, 9, season=2020, neutral=True)
    rated = one_game(nfl_config, g, 1703.30329600465, 1741.08727932497)

    assert rated.prob1 == pytest.approx(0.4458378304058082, abs=1e-6)
    assert margin_multiplier(nfl_config, 22, 1703.30329600465 - 1741.08727932497) == pytest.approx(3.190286, abs=1e-6)
    assert rated.elo1_post == pytest.approx(1738.662011, abs=1e-6)
    assert rated.elo2_post == pytest.approx(1705.728564, abs=1e-6)


def test_worked_check_tie(nfl_config):
    g = game("2020-09-27", "PHI", "CIN", 23, 23)
    rated = one_game(nfl_config, g, 1467.04162910093, 1358.67340590286)

    assert rated.prob1 == pytest.approx(0.73066276, abs=1e-6)
    assert margin_multiplier(nfl_config, 0, 1467.04162910093 - 1358.67340590286 + 65) == pytest.approx(1.524924, abs=1e-6)
    assert rated.elo1_post == pytest.approx(1460.0067666, abs=1e-6)
    assert rated.elo2_post == pytest.approx(1365.7082684, abs=1e-6)


def test_worked_check_loss_then_reversion(nfl_config):
    playoff = game("2020-01-04", "NE", "TEN", 13, 20, season=2019)
    rated = one_game(nfl_config, playoff, 1649.7868334529, 1584.98690607194)

    assert rated.elo1_post - rated.elo1_pre == pytest.approx(-29.990176, abs=1e-6)
    assert rated.elo1_post == pytest.approx(1619.7966571, abs=1e-6)
    # The published post-game rating is rounded to 7 decimals; revert it as the spec does.
    assert season_start_rating(nfl_config, 1619.7966571) == pytest.approx(1581.53110476607, abs=1e-6)


def test_brier_score_over_all_games_matches_the_reference(nfl_config, history):
    rated = replay(history.games, nfl_config, initial_ratings=history.initial_ratings, overrides=history.overrides)

    assert len(rated) == 16_810
    assert round(brier_score(forecasts(rated)), 6) == 0.208382


def test_full_replay_reproduces_the_worked_checks_pre_game_ratings(nfl_config, history):
    """The published pre-game ratings of the worked-check games, to the spec's 0.001 Elo."""
    rated = replay(history.games, nfl_config, initial_ratings=history.initial_ratings, overrides=history.overrides)
    by_game = {(r.game.date.isoformat(), r.game.team1): r for r in rated}

    super_bowl = by_game[("2021-02-07", "TB")]
    assert (super_bowl.elo1_pre, super_bowl.elo2_pre) == pytest.approx((1703.30329600465, 1741.08727932497), abs=1e-3)
    assert super_bowl.prob1 == pytest.approx(0.4458378304058082, abs=3e-6)
    tie = by_game[("2020-09-27", "PHI")]
    assert (tie.elo1_pre, tie.elo2_pre) == pytest.approx((1467.04162910093, 1358.67340590286), abs=1e-3)
    ne_first_2020 = next(r for r in rated if r.game.season == 2020 and "NE" in (r.game.team1, r.game.team2))
    ne_pre = ne_first_2020.elo1_pre if ne_first_2020.game.team1 == "NE" else ne_first_2020.elo2_pre
    assert ne_pre == pytest.approx(1581.53110476607, abs=1e-3)


def test_tie_scores_half_a_win_with_the_tie_multiplier(nfl_config):
    rated = one_game(nfl_config, game("2026-10-04", "AAA", "BBB", 20, 20), 1500.0, 1500.0)

    p = win_probability(nfl_config, 65.0)
    assert rated.prob1 == p
    assert rated.elo1_post - 1500.0 == pytest.approx(20 * math.log(2) * 2.2 / 1.0 * (0.5 - p))
    assert rated.elo1_post + rated.elo2_post == pytest.approx(3000.0)
    assert rated.elo1_post < 1500.0 < rated.elo2_post  # the favourite loses points by drawing


def test_neutral_site_has_no_home_advantage(nfl_config):
    home = one_game(nfl_config, game("2026-10-04", "AAA", "BBB", 24, 17), 1500.0, 1500.0)
    neutral = one_game(nfl_config, game("2026-10-04", "AAA", "BBB", 24, 17, neutral=True), 1500.0, 1500.0)

    assert neutral.prob1 == 0.5
    assert home.prob1 == pytest.approx(1 / (1 + 10 ** (-65 / 400)))
    assert neutral.elo1_post - 1500.0 > home.elo1_post - 1500.0  # an even game's win is worth more


def test_skipped_seasons_revert_once(nfl_config):
    games = [game("2020-10-04", "AAA", "BBB", 30, 0), game("2024-10-06", "AAA", "CCC", 10, 10)]
    rated = replay(games, nfl_config, initial_ratings={"AAA": 1600.0, "BBB": 1500.0, "CCC": 1500.0}, overrides={})

    after_2020 = rated[0].elo1_post
    assert rated[1].elo1_pre == pytest.approx(1505 + (after_2020 - 1505) * 2 / 3)


def test_override_replaces_the_reversion_at_the_first_game_of_its_season(nfl_config):
    games = [
        game("2020-10-04", "AAA", "BBB", 30, 0),
        game("2021-10-03", "AAA", "BBB", 30, 0),
        game("2021-10-10", "AAA", "BBB", 30, 0),
    ]
    rated = replay(games, nfl_config, initial_ratings={"AAA": 1600.0, "BBB": 1500.0}, overrides={("AAA", 2021): 1234.5})

    assert rated[1].elo1_pre == 1234.5
    assert rated[1].elo2_pre == pytest.approx(1505 + (rated[0].elo2_post - 1505) * 2 / 3)
    assert rated[2].elo1_pre == rated[1].elo1_post  # only the season's first game is overridden


def test_new_franchise_starts_from_its_initial_rating_without_reversion(nfl_config):
    games = [game("2020-10-04", "AAA", "BBB", 30, 0), game("2021-10-03", "AAA", "NEW", 3, 0)]
    rated = replay(games, nfl_config, initial_ratings={"AAA": 1600.0, "BBB": 1500.0, "NEW": 1420.0}, overrides={})

    assert rated[1].elo2_pre == 1420.0


def test_franchise_without_an_initial_rating_starts_from_the_configs_new_team_rating(nfl_config):
    rated = replay([game("2020-10-04", "AAA", "NEW", 30, 0)], nfl_config, initial_ratings={"AAA": 1600.0}, overrides={})

    assert rated[0].elo2_pre == nfl_config.new_team_rating == 1300.0


def test_replay_continues_from_a_state_and_updates_it(nfl_config, history):
    """Replaying in two halves from the carried state equals one replay."""
    whole = replay(history.games, nfl_config, initial_ratings=history.initial_ratings, overrides=history.overrides)
    state: EloState[str] = EloState()
    first = [g for g in history.games if g.season <= 1990]
    second = [g for g in history.games if g.season > 1990]
    kwargs = {"initial_ratings": history.initial_ratings, "overrides": history.overrides, "state": state}
    halves = replay(first, nfl_config, **kwargs) + replay(second, nfl_config, **kwargs)

    assert halves == whole
    assert state.seasons["TB"] == 2020


def test_games_out_of_date_order_are_refused(nfl_config):
    games = [game("2020-10-11", "AAA", "BBB", 1, 0), game("2020-10-04", "CCC", "DDD", 1, 0)]
    with pytest.raises(EloReplayError, match="date order: 2020-10-04 CCC-DDD comes after a game on 2020-10-11"):
        replay(games, nfl_config, initial_ratings={}, overrides={})


def test_scores_of_pre_game_probabilities():
    forecasts_ = [(0.75, 1.0), (0.4, 0.0), (0.5, 0.5)]
    assert brier_score(forecasts_) == pytest.approx((0.0625 + 0.16 + 0.0) / 3)
    assert log_loss(forecasts_) == pytest.approx(-(math.log(0.75) + math.log(0.6) + math.log(0.5)) / 3)
    assert brier_score([]) is None and log_loss([]) is None


NFL_CONFIG = {
    "k_factor": 20, "home_field_advantage": 65, "rating_scale": 400, "reversion_mean": 1505,
    "reversion_keep_fraction": 0.6666666666666666, "new_team_rating": 1300,
    "margin_multiplier": {"scale": 2.2, "rating_diff_coefficient": 0.001, "offset": 2.2, "tie_divisor": 1.0},
}


def test_config_reads_every_parameter(nfl_config):
    assert EloConfig.from_mapping(NFL_CONFIG) == nfl_config


def _without(path: tuple[str, ...]) -> dict:
    config = copy.deepcopy(NFL_CONFIG)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return config


def _with(path: tuple[str, ...], value) -> dict:
    config = copy.deepcopy(NFL_CONFIG)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return config


@pytest.mark.parametrize("path", [("k_factor",), ("reversion_keep_fraction",), ("margin_multiplier",),
                                  ("margin_multiplier", "tie_divisor")])
def test_config_missing_key_is_named(path):
    with pytest.raises(EloConfigError, match=rf"elo_x v9.9: config key '{'.'.join(path)}' is missing"):
        EloConfig.from_mapping(_without(path), source="elo_x v9.9")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("k_factor",), "20", r"'k_factor' must be a finite number, got '20'"),
        (("home_field_advantage",), True, r"'home_field_advantage' must be a finite number, got True"),
        (("rating_scale",), 0, r"'rating_scale' must be positive, got 0"),
        (("reversion_keep_fraction",), 1.5, r"'reversion_keep_fraction' must be between 0 and 1, got 1.5"),
        (("margin_multiplier", "offset"), None, r"'margin_multiplier.offset' must be a finite number, got None"),
        (("margin_multiplier",), [2.2], r"'margin_multiplier' must be an object, got \[2.2\]"),
    ],
)
def test_config_wrong_value_is_named(path, value, message):
    with pytest.raises(EloConfigError, match=message):
        EloConfig.from_mapping(_with(path, value))
