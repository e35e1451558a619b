"""Candlesticks: which windows a closed market costs, the flat record a wire candle becomes, its
parser (errors name the candle, the field and the value), the contract suite, and the sandbox's
candles (deterministic, on period boundaries, within the market's trading, a 400 for a bad
period)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from precog_pipelines.lib.kalshi import KalshiParseError, parse_candle, parse_market
from precog_pipelines.lib.kalshi.candles import (
    MAX_MINUTE_WINDOW,
    candle_record,
    candle_requests,
    contract_view,
)
from precog_pipelines.lib.quality.gx_suites import validate_records
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import SANDBOX_START

TICKER = "KXNFLGAME-25NOV09KCBUF-KC"
WIRE = {
    "end_period_ts": 1762711200,
    "yes_bid": {"open_dollars": "0.4500", "low_dollars": "0.4400", "high_dollars": "0.4700", "close_dollars": "0.4600"},
    "yes_ask": {"open_dollars": "0.4600", "low_dollars": "0.4500", "high_dollars": "0.4800", "close_dollars": "0.4700"},
    "price": {"open_dollars": None, "low_dollars": None, "high_dollars": None, "close_dollars": None,
              "mean_dollars": None, "previous_dollars": "0.4600", "min_dollars": None, "max_dollars": None},
    "volume_fp": "0.00", "open_interest_fp": "1250.50",
}


def _market(**changes) -> object:
    payload = {
        "ticker": TICKER, "event_ticker": "KXNFLGAME-25NOV09KCBUF", "market_type": "binary", "status": "finalized",
        "yes_bid_dollars": "0.0000", "yes_ask_dollars": "1.0000", "no_bid_dollars": "0.0000", "no_ask_dollars": "1.0000",
        "last_price_dollars": "0.9900", "yes_bid_size_fp": "0.00", "yes_ask_size_fp": "0.00", "volume_fp": "10.00",
        "volume_24h_fp": "0.00", "open_interest_fp": "6.00", "notional_value_dollars": "1.0000", "result": "yes",
        "open_time": "2025-11-03T17:00:00Z", "close_time": "2025-11-09T20:55:00Z",
        "occurrence_datetime": "2025-11-09T17:40:00Z", "expected_expiration_time": "2025-11-09T20:40:00Z",
    }
    return parse_market(payload | changes)


def test_a_game_market_costs_an_hourly_and_a_minute_window():
    hourly, minutes = candle_requests("KXNFLGAME", _market())
    assert (hourly.period_interval, hourly.start_ts, hourly.end_ts) == (
        60, int(datetime(2025, 11, 3, 17, tzinfo=UTC).timestamp()), int(datetime(2025, 11, 9, 20, 55, tzinfo=UTC).timestamp()))
    # From an hour before the game's scheduled start to the market's close.
    assert (minutes.period_interval, minutes.start_ts, minutes.end_ts) == (
        1, int(datetime(2025, 11, 9, 16, 40, tzinfo=UTC).timestamp()), hourly.end_ts)


def test_the_minute_window_is_capped_and_falls_back_to_the_expected_expiration():
    late = _market(close_time="2025-11-11T20:55:00Z")  # a game delayed by two days
    assert candle_requests("KXNFLGAME", late)[1].end_ts - candle_requests("KXNFLGAME", late)[1].start_ts == \
        MAX_MINUTE_WINDOW.total_seconds()
    no_occurrence = _market(occurrence_datetime=None)
    assert candle_requests("KXNFLGAME", no_occurrence)[1].start_ts == int(datetime(2025, 11, 9, 16, 40, tzinfo=UTC).timestamp())
    assert len(candle_requests("KXNFLGAME", _market(occurrence_datetime=None, expected_expiration_time=None))) == 1


def test_a_wire_candle_parses_to_exact_decimals_with_null_trade_prices():
    candle = parse_candle(candle_record(_market(), 60, WIRE))
    assert candle.key == f"{TICKER}/60/1762711200"
    assert (candle.yes_bid_close, candle.yes_ask_high, candle.open_interest) == (
        Decimal("0.4600"), Decimal("0.4800"), Decimal("1250.50"))
    assert candle.price_close is None and candle.price_previous == Decimal("0.4600")
    assert (candle.market_result, candle.end_period_ts) == ("yes", datetime(2025, 11, 9, 18, tzinfo=UTC))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("yes_bid.close_dollars", "1.5", "'yes_bid.close_dollars' is outside 0..1 dollars (got '1.5')"),
    ("yes_ask.low_dollars", 0.45, "'yes_ask.low_dollars' is not a numeric string (got 0.45)"),
    ("volume_fp", "-3.00", "'volume_fp' is negative (got '-3.00')"),
    ("end_period_ts", "soon", "'end_period_ts' is not an integer (got 'soon')"),
])
def test_a_bad_candle_value_is_named_with_its_field_and_value(field, value, message):
    record = candle_record(_market(), 60, WIRE) | {field: value}
    with pytest.raises(KalshiParseError) as caught:
        parse_candle(record)
    assert str(caught.value).startswith(f"candle {TICKER}/60/")
    assert message in str(caught.value)


def test_the_contract_suite_passes_good_candles_and_fails_a_number_sent_as_json():
    good = [contract_view(candle_record(_market(), 60, WIRE | {"end_period_ts": WIRE["end_period_ts"] + 3600 * i}))
            for i in range(3)]
    assert validate_records("kalshi_candles", good).success
    bad = good[:2] + [good[2] | {"yes_bid_close_dollars": 0.46}]
    report = validate_records("kalshi_candles", bad)
    assert not report.success
    assert {f.column for f in report.failed} == {"yes_bid_close_dollars"}


def test_the_sandbox_serves_deterministic_candles_within_the_trading_of_a_market():
    config = SandboxConfig(start=SANDBOX_START, speed=0, rate_tier=None)
    with SandboxServer(config) as first, SandboxServer(config) as second:
        for sandbox in (first, second):
            sandbox.set_time(SANDBOX_START + timedelta(hours=8))
        game = first.describe_world()["games"][0]
        ticker = game["markets"][game["home"]]
        path = f"/trade-api/v2/series/KXNFLGAME/markets/{ticker}/candlesticks"
        params = {"start_ts": int(SANDBOX_START.timestamp()), "end_ts": int((SANDBOX_START + timedelta(hours=8)).timestamp()),
                  "period_interval": 1}
        body = requests.get(first.base_url + path, params=params, timeout=10).json()
        assert body == requests.get(second.base_url + path, params=params, timeout=10).json()
        ends = [c["end_period_ts"] for c in body["candlesticks"]]
        finished = datetime.fromisoformat(game["finalized_at"].replace("Z", "+00:00"))
        assert ends == sorted(ends) and all(end % 60 == 0 for end in ends)
        assert datetime.fromtimestamp(ends[-1], UTC) < finished  # nothing after the market stopped trading
        assert all(c["yes_bid"]["low_dollars"] <= c["yes_bid"]["close_dollars"] <= c["yes_bid"]["high_dollars"]
                   for c in body["candlesticks"])
        refused = requests.get(first.base_url + path, params=params | {"period_interval": 5}, timeout=10)
        assert refused.status_code == 400 and "period_interval" in refused.json()["error"]["message"]
        unknown = requests.get(first.base_url + "/trade-api/v2/series/KXNFLGAME/markets/NOPE/candlesticks",
                               params=params, timeout=10)
        assert unknown.status_code == 404
