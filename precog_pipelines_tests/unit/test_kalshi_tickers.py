"""Issue 18, finding 11: tickers are checked against Kalshi's ticker format before a request
leaves, identifiers are URL-encoded in paths, and a server's HTML error page becomes one short
line. Real HTTP to the sandbox; its request counter shows what reached it."""

from __future__ import annotations

import pytest

from precog_pipelines.lib.kalshi import KalshiInputError, KalshiNotFound, KalshiRequestError
from precog_pipelines.lib.kalshi.tickers import ticker_problem

BAD_TICKERS = ["", "../portfolio/balance", "KXNFLGAME/../../portfolio/balance", "kxnflgame", "KX NFL", "KX%2F",
               "-KXNFL", "A" * 101, "A" * 100_000, "KXNFL\u00c9", "KXNFLGAME\n"]


@pytest.mark.parametrize("ticker", BAD_TICKERS)
def test_a_bad_ticker_never_leaves_the_client(sandbox, kalshi_client, ticker):
    """Finding 11: PRECOG_KALSHI_SERIES=../portfolio/balance reached the portfolio endpoint; an empty
    series filter listed every market of every series."""
    sandbox.reset_stats()
    calls = [
        lambda: kalshi_client.get_series_payload(ticker),
        lambda: kalshi_client.get_event_payload(ticker),
        lambda: kalshi_client.get_market_payload(ticker),
        lambda: list(kalshi_client.iter_market_payloads(series_ticker=ticker)),
        lambda: list(kalshi_client.iter_market_payloads(event_ticker=ticker)),
        lambda: list(kalshi_client.iter_market_payloads(tickers=["KXNFLGAME-25NOV09DETWAS-WAS", ticker])),
        lambda: list(kalshi_client.iter_event_payloads(series_ticker=ticker)),
        lambda: list(kalshi_client.iter_positions(ticker=ticker)),
        lambda: list(kalshi_client.iter_settlements(event_ticker=ticker)),
    ]
    for call in calls:
        with pytest.raises(KalshiInputError) as refused:
            call()
        message = str(refused.value)
        assert "is not a Kalshi ticker" in message and "\n" not in message and len(message) < 300
    assert sandbox.stats().get("requests", 0) == 0


def test_good_tickers_pass():
    for ticker in ["KXNFLGAME", "KXNFLGAME-25SEP07KCLAC-KC", "KXHIGHNY-26APR27-B64.5", "KXSB-26", "KXNFLSPREAD-X-KC7"]:
        assert ticker_problem(ticker) is None


def test_an_identifier_in_a_path_is_url_encoded(sandbox, kalshi_client):
    """Finding 11: path segments were pasted in raw, so `../balance` as an order id climbed to
    /portfolio/balance. Encoded, it is one (unknown) order id."""
    with pytest.raises(KalshiNotFound) as missing:
        kalshi_client.get_order("../balance")
    assert "/portfolio/orders/..%2Fbalance" in str(missing.value)


def test_an_html_error_page_is_one_short_line(sandbox, kalshi_client):
    """Finding 11: a 100,000-character request printed the server's whole HTML 414 page as the error."""
    tickers = [f"KXNFLGAME-{i:06d}-{'X' * 80}" for i in range(1_200)]  # each valid; the URL is ~110,000 chars
    with pytest.raises(KalshiRequestError) as refused:
        list(kalshi_client.iter_market_payloads(tickers=tickers))
    message = str(refused.value)
    assert refused.value.status == 414
    assert "\n" not in message and "<" not in message and len(message) < 400, message
