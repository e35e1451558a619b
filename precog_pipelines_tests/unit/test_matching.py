"""Reading the game out of a Kalshi game-market ticker."""

from __future__ import annotations

from datetime import date

import pytest

from precog_pipelines.lib.trading.matching import parse_game_market

CODES = {"DAL": 6, "NYG": 19, "KC": 12, "LAC": 24, "LA": 14, "LAR": 14, "SF": 25, "WAS": 28, "JAC": 30,
         "TEN": 10, "DET": 8, "NE": 17, "NEW": 99, "ENE": 98}


@pytest.mark.parametrize("ticker,expected", [
    ("KXNFLGAME-26SEP13DALNYG-DAL", (date(2026, 9, 13), 6, 19, 6)),
    ("KXNFLGAME-25SEP07KCLAC-LAC", (date(2025, 9, 7), 12, 24, 24)),
    ("KXNFLGAME-25NOV09LASF-LA", (date(2025, 11, 9), 14, 25, 14)),
    ("KXNFLGAME-26JAN04DETWAS-WAS", (date(2026, 1, 4), 8, 28, 28)),
    ("KXNFLGAME-25NOV09JACTEN-JAC", (date(2025, 11, 9), 30, 10, 30)),
])
def test_game_market_tickers_resolve_to_date_and_teams(ticker, expected):
    market = parse_game_market(ticker, CODES)
    assert (market.game_date, market.away_team_id, market.home_team_id, market.team_id) == expected


@pytest.mark.parametrize("ticker", [
    "KXNFLGAME-26SEP13DALNYG",          # the event, not a market
    "KXNFLGAME-26SEP13DALNYG-KC",       # team not in the game
    "KXNFLGAME-26SEP13DALXXX-DAL",      # unknown code
    "KXNFLGAME-26FOO13DALNYG-DAL",      # not a month
    "KXNFLGAME-26FEB30DALNYG-DAL",      # not a date
    "KXNFLSPREAD-26SEP13DALNYG-DAL7",   # another series' suffix
])
def test_other_tickers_do_not_match(ticker):
    assert parse_game_market(ticker, CODES) is None


def test_an_ambiguous_split_is_no_match():
    # NEENE: NE+ENE and NEE+NE would both need NEE; with NE, ENE only one split fits.
    assert parse_game_market("KXNFLGAME-26SEP13NEENE-NE", CODES).home_team_id == 98
    assert parse_game_market("KXNFLGAME-26SEP13NEENE-NE", CODES | {"NEE": 97}) is None
