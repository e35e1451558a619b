"""Great Expectations suites on API batches: violations are named with failing values."""

from __future__ import annotations

import json

import pytest

from precog_pipelines.lib.quality.gx_suites import SUITES, validate_records
from precog_pipelines_tests.conftest import SHARED_DIR

EXAMPLES = SHARED_DIR / "reference" / "examples"


@pytest.fixture(scope="module")
def markets() -> list[dict]:
    return json.loads((EXAMPLES / "kalshi" / "get_markets_nfl_page.json").read_text())["markets"]


def test_the_reference_market_page_passes(markets):
    report = validate_records("kalshi_markets", markets)
    assert report.success, report.failed
    assert (report.rows, report.evaluated) == (3, len(SUITES["kalshi_markets"]()))


def test_reference_series_and_events_pass():
    series = json.loads((EXAMPLES / "kalshi" / "get_series_KXNFLGAME.json").read_text())["series"]
    events = json.loads((EXAMPLES / "kalshi" / "get_events_nfl.json").read_text())["events"]
    assert validate_records("kalshi_series", [series]).success
    assert validate_records("kalshi_events", events).success


def test_bad_prices_statuses_tickers_and_duplicates_are_reported(markets):
    bad = [dict(m) for m in markets]
    bad[0]["yes_bid_dollars"] = "abc"
    bad[1]["yes_ask_dollars"] = "1.5"
    bad[2]["no_bid_dollars"] = "-0.1"
    bad[1]["status"] = "open"            # a filter value, never a response status
    bad[2]["ticker"] = "kx;drop table"
    bad.append(dict(markets[0]))         # the same ticker twice in one batch
    bad.append({**markets[0], "ticker": None})

    report = validate_records("kalshi_markets", bad)

    failures = {(f.expectation, f.column): f for f in report.failed}
    assert not report.success
    assert failures[("expect_column_values_to_match_regex", "yes_bid_dollars")].sample_values == ["'abc'"]
    assert failures[("expect_column_values_to_match_regex", "yes_ask_dollars")].sample_values == ["'1.5'"]
    assert failures[("expect_column_values_to_match_regex", "no_bid_dollars")].sample_values == ["'-0.1'"]
    assert failures[("expect_column_values_to_be_in_set", "status")].sample_values == ["'open'"]
    assert failures[("expect_column_values_to_match_regex", "ticker")].sample_values == ["'kx;drop table'"]
    assert failures[("expect_column_values_to_be_unique", "ticker")].unexpected_count == 2
    assert failures[("expect_column_values_to_not_be_null", "ticker")].unexpected_count == 1


def test_missing_required_column_fails():
    report = validate_records("kalshi_series", [{"ticker": "KXNFLGAME", "title": "t", "fee_type": "quadratic"}])
    assert [(f.expectation, f.column) for f in report.failed] == [
        ("expect_column_values_to_not_be_null", "fee_multiplier")]


def test_scoreboard_games_suite():
    good = {"id": "401772001", "state": "in", "completed": False, "home_team_id": "19", "away_team_id": "6",
            "home_score": "7", "away_score": "3"}
    assert validate_records("espn_scoreboard_games", [good]).success
    bad = validate_records("espn_scoreboard_games", [good, {**good, "state": "live", "home_score": "-1"}])
    assert {(f.column, f.unexpected_count) for f in bad.failed} == {("id", 2), ("state", 1), ("home_score", 1)}


# Prices and counts the exchange could send, well-formed or not: the parser and the contract
# suite must agree on every one (issue "Hardening", finding 3).
PRICE_CORPUS = ["0", "1", "0.5600", "0.56", "1.000000", "0.123456", "-0.0000", "1E+2", " 0.5000", "5E-1",
                "0.1234567", "1.01", "-0.1", "abc", "NaN", "Infinity", "", "0.5 ", "+0.5", "0x1", "½", 0.5, 1]
COUNT_CORPUS = ["0", "12", "12.5", "12.50", "12.345", "-3.00", "1e3", " 7", "7.", ".5", "NaN", 3, "٣"]


@pytest.mark.parametrize(("field", "value"), [("yes_bid_dollars", v) for v in PRICE_CORPUS]
                         + [("volume_fp", v) for v in COUNT_CORPUS])
def test_the_parser_and_the_contract_suite_accept_exactly_the_same_values(markets, field, value):
    from precog_pipelines.lib.kalshi import KalshiParseError, parse_market

    payload = {**markets[0], field: value}
    try:
        parse_market(payload)
        parsed = True
    except KalshiParseError:
        parsed = False
    assert parsed == validate_records("kalshi_markets", [payload]).success, (field, value)
