"""Parsing Kalshi payloads: the shared example files, bad values, cents, and error bodies."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from precog_pipelines.lib.ingest.rejects import parse_batch
from precog_pipelines.lib.kalshi import (
    KalshiAuthError,
    KalshiNotFound,
    KalshiParseError,
    KalshiRateLimitError,
    KalshiRequestError,
    KalshiServerError,
    parse_balance,
    parse_event,
    parse_market,
    parse_order_response,
    parse_series,
    parse_settlement,
)
from precog_pipelines.lib.kalshi.errors import error_from_response
from precog_pipelines_tests.conftest import SHARED_DIR

EXAMPLES = SHARED_DIR / "reference" / "examples" / "kalshi"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


@pytest.fixture
def market_payload() -> dict:
    return example("get_markets_nfl_page.json")["markets"][0]


def test_example_market_page_parses_to_decimals_and_utc():
    markets = [parse_market(raw) for raw in example("get_markets_nfl_page.json")["markets"]]

    kc = markets[0]
    assert [m.ticker for m in markets] == [
        "KXNFLGAME-25SEP07KCLAC-KC", "KXNFLGAME-25SEP07KCLAC-LAC", "KXNFLGAME-25SEP07BALBUF-BAL"
    ]
    assert (kc.yes_bid, kc.yes_ask, kc.no_bid, kc.no_ask) == (
        Decimal("0.58"), Decimal("0.59"), Decimal("0.41"), Decimal("0.42")
    )
    assert kc.yes_ask_size == Decimal("1875.50") and kc.volume == Decimal("1843720")
    assert kc.status == "active" and kc.result == "" and kc.settlement_value is None
    assert kc.occurrence_datetime == datetime(2025, 9, 7, 20, 25, tzinfo=UTC)
    assert kc.updated_time.tzinfo is UTC and kc.updated_time.microsecond == 81233
    assert all(isinstance(value, Decimal) for value in (kc.last_price, kc.open_interest, kc.notional_value))


def test_example_series_and_events_parse():
    series = parse_series(example("get_series_KXNFLGAME.json")["series"])
    events = [parse_event(raw) for raw in example("get_events_nfl.json")["events"]]

    assert series.ticker == "KXNFLGAME" and series.tags == ["Football"]
    assert series.fee_type == "quadratic_with_maker_fees" and series.fee_multiplier == Decimal(1)
    assert series.settlement_sources == [{"name": "NFL", "url": "https://www.nfl.com/"}]
    assert [e.event_ticker for e in events] == ["KXNFLGAME-25SEP07KCLAC", "KXNFLGAME-25SEP07BALBUF"]
    assert events[0].mutually_exclusive is True and events[0].strike_date is None


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("yes_bid_dollars", "abc", "'yes_bid_dollars' is not a number (got 'abc')"),
        ("yes_bid_dollars", "1.5", "'yes_bid_dollars' is outside 0..1 dollars (got '1.5')"),
        ("no_ask_dollars", "-0.1", "'no_ask_dollars' is outside 0..1 dollars (got '-0.1')"),
        ("yes_ask_dollars", "NaN", "'yes_ask_dollars' is not a finite number"),
        ("volume_fp", "12.345", "'volume_fp' has more than 2 decimal places"),
        ("open_interest_fp", "-3.00", "'open_interest_fp' is negative"),
        ("status", "settled", "'status' is not one of"),
        ("close_time", "yesterday", "'close_time' is not an RFC 3339 timestamp"),
        ("open_time", "2025-08-25T14:05:00", "'open_time' has no UTC offset"),
        ("can_close_early", "yes", "'can_close_early' is not a boolean"),
    ],
)
def test_bad_market_values_name_ticker_field_and_value(market_payload, field, value, expected):
    market_payload[field] = value

    with pytest.raises(KalshiParseError) as caught:
        parse_market(market_payload)

    message = str(caught.value)
    assert message.startswith("market KXNFLGAME-25SEP07KCLAC-KC: field ")
    assert expected in message
    assert (caught.value.key, caught.value.field) == ("KXNFLGAME-25SEP07KCLAC-KC", field)


@pytest.mark.parametrize("field", ["ticker", "event_ticker", "yes_bid_dollars", "yes_bid_size_fp", "close_time"])
def test_missing_required_market_field_is_named(market_payload, field):
    del market_payload[field]

    with pytest.raises(KalshiParseError, match=f"field '{field}' is missing"):
        parse_market(market_payload)


def test_null_ticker_and_lowercase_ticker_are_rejected(market_payload):
    market_payload["ticker"] = None
    with pytest.raises(KalshiParseError, match=r"market <unknown ticker>: field 'ticker' is missing"):
        parse_market(market_payload)
    market_payload["ticker"] = "kxnflgame-x"
    with pytest.raises(KalshiParseError, match="is not a ticker"):
        parse_market(market_payload)


def test_huge_values_are_cut_in_the_message(market_payload):
    market_payload["yes_bid_dollars"] = "9" * 100_000

    with pytest.raises(KalshiParseError) as caught:
        parse_market(market_payload)

    assert len(str(caught.value)) < 300 and "(100002 chars)" in str(caught.value)


def test_unknown_fields_are_ignored_and_legacy_integers_never_read(market_payload):
    market_payload |= {"brand_new_field": {"x": 1}, "yes_bid": 12, "volume": 5}

    market = parse_market(market_payload)

    assert market.yes_bid == Decimal("0.58") and market.volume == Decimal("1843720")


def test_go_zero_time_reads_as_none(market_payload):
    market_payload["updated_time"] = "0001-01-01T00:00:00Z"

    assert parse_market(market_payload).updated_time is None


def test_missing_result_reads_as_undetermined(market_payload):
    del market_payload["result"]

    assert parse_market(market_payload).result == ""


def test_balance_cents_convert_exactly_and_dollars_win():
    cents_only = parse_balance({"balance": 123456789, "portfolio_value": 1, "updated_ts": 1})
    exact = parse_balance({"balance": 10050, "balance_dollars": "100.5037", "portfolio_value": 99})

    assert cents_only.balance == Decimal("1234567.89") and cents_only.portfolio_value == Decimal("0.01")
    assert exact.balance == Decimal("100.5037") and exact.balance_cents == 10050
    with pytest.raises(KalshiParseError, match="'portfolio_value' is not an integer number of cents"):
        parse_balance({"balance": 1, "portfolio_value": 1.5})


def test_settlement_revenue_and_value_are_cents():
    settlement = parse_settlement({
        "ticker": "KXNFLGAME-25SEP07KCLAC-KC", "event_ticker": "KXNFLGAME-25SEP07KCLAC", "market_result": "yes",
        "yes_count_fp": "10.00", "no_count_fp": "0.00", "yes_total_cost_dollars": "5.9000",
        "no_total_cost_dollars": "0.0000", "revenue": 1000, "value": 100, "fee_cost": "0.1700",
        "settled_time": "2025-09-08T00:00:00Z", "exchange_index": 0,
    })

    assert settlement.revenue == Decimal("10.00") and settlement.value == Decimal("1.00")
    assert settlement.fee_cost == Decimal("0.17")


def test_order_response_timestamp_is_milliseconds():
    response = parse_order_response(
        {"order_id": "o1", "fill_count": "2.00", "remaining_count": "0.00", "ts_ms": 1762707600123}
    )

    assert response.ts == datetime(2025, 11, 9, 17, 0, 0, 123000, tzinfo=UTC)
    assert response.average_fill_price is None


def test_parse_errors_route_bad_rows_to_rejects(market_payload):
    bad = copy.deepcopy(market_payload) | {"ticker": "KXNFLGAME-25SEP07KCLAC-BAD", "yes_ask_dollars": "abc"}

    valid, rejected = parse_batch([market_payload, bad, "not an object"], parse_market, "ticker", (KalshiParseError,))

    assert [m.ticker for m in valid] == ["KXNFLGAME-25SEP07KCLAC-KC"]
    assert [r.business_key for r in rejected] == ["KXNFLGAME-25SEP07KCLAC-BAD", None]
    assert "yes_ask_dollars" in rejected[0].reason and rejected[0].payload is bad


@pytest.mark.parametrize(
    ("status", "body", "cls", "text"),
    [
        (429, {"error": "too many requests"}, KalshiRateLimitError, "HTTP 429: too many requests"),
        (401, {"error": {"code": "authentication_error", "message": "authentication_error",
                         "details": "INCORRECT_API_KEY_SIGNATURE"}}, KalshiAuthError, "KALSHI_API_KEY_ID"),
        (404, {"error": {"code": "not_found", "message": "not found"}}, KalshiNotFound, "HTTP 404 not_found"),
        (400, {"error": {"code": "invalid_price", "message": "invalid price", "service": "exchange"}},
         KalshiRequestError, "HTTP 400 invalid_price: invalid price"),
        (503, "<html>upstream</html>", KalshiServerError, "HTTP 503: upstream"),  # an HTML page as its text
        (500, None, KalshiServerError, "HTTP 500"),
    ],
)
def test_both_error_shapes_become_typed_errors(status, body, cls, text):
    error = error_from_response(status, "GET", "/trade-api/v2/markets", body)

    assert type(error) is cls and error.status == status
    assert text in str(error) and str(error).startswith("GET /trade-api/v2/markets: ")
