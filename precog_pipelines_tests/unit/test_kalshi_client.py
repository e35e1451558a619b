"""The Kalshi client over real HTTP against the sandbox: signatures, retries, pagination,
parsing, rate limiting, orders, and keeping secrets out of logs and errors."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from precog_pipelines.lib.ingest.rejects import parse_batch
from precog_pipelines.lib.kalshi import (
    TIERS,
    KalshiAuthError,
    KalshiClient,
    KalshiConfigError,
    KalshiConflictError,
    KalshiNotFound,
    KalshiPaginationError,
    KalshiParseError,
    KalshiRateLimiter,
    KalshiRetryError,
    KalshiSettings,
    KalshiSigner,
    load_private_key,
    parse_market,
)
from precog_pipelines.lib.resilient_http import RetryPolicy
from precog_pipelines.sandbox import SandboxConfig, SandboxServer, write_private_key
from precog_pipelines_tests.conftest import SANDBOX_START

MARKETS = "/trade-api/v2/markets"
NFL_MARKETS = 14  # 7 games (one postponed), one market per team


def crawl(client: KalshiClient, **filters) -> list[str]:
    return [payload["ticker"] for payload in client.iter_market_payloads(series_ticker="KXNFLGAME", **filters)]


def crawl_parsed(client: KalshiClient) -> tuple[list, list]:
    """What an ingestion asset does: parse each raw market, routing failures to rejects."""
    return parse_batch(client.iter_market_payloads(series_ticker="KXNFLGAME"), parse_market, "ticker",
                       (KalshiParseError,))


# ---- signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize("key_format", ["pkcs8", "pkcs1"])
def test_signed_call_succeeds_with_either_pem_format(sandbox, kalshi_key, fast_retries, key_format):
    path = kalshi_key.private_key_path if key_format == "pkcs8" else kalshi_key.pkcs1_private_key_path
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY" if key_format == "pkcs8" else "-----BEGIN RSA")
    settings = KalshiSettings(base_url=sandbox.kalshi_base_url, api_key_id=kalshi_key.key_id, private_key_path=path)

    with KalshiClient(settings, retry_policy=fast_retries) as client:
        balance = client.get_balance()

    assert balance.balance == Decimal("1000.00") and balance.balance_cents == 100000
    assert sandbox.stats().get("auth_failures", 0) == 0


def test_public_market_data_needs_no_credentials(sandbox, fast_retries):
    with KalshiClient(KalshiSettings(base_url=sandbox.kalshi_base_url), retry_policy=fast_retries) as client:
        assert len(crawl(client)) == NFL_MARKETS
        with pytest.raises(KalshiConfigError, match="set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH"):
            client.get_balance()


def test_a_key_the_exchange_does_not_know_is_an_auth_error_naming_the_credentials(
    sandbox, kalshi_key, fast_retries, tmp_path
):
    other = write_private_key(tmp_path / "other.pem", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    settings = KalshiSettings(base_url=sandbox.kalshi_base_url, api_key_id=kalshi_key.key_id, private_key_path=other)

    with KalshiClient(settings, retry_policy=fast_retries) as client, pytest.raises(KalshiAuthError) as caught:
        client.get_balance()

    message = str(caught.value)
    assert "HTTP 401 authentication_error" in message and "INCORRECT_API_KEY_SIGNATURE" in message
    assert "KALSHI_API_KEY_ID" in message and "KALSHI_PRIVATE_KEY_PATH" in message and "demo and prod" in message
    assert sandbox.stats()["auth_failures"] == 1  # a 401 is never retried


def _signed_get(sandbox, signer: KalshiSigner, path: str, **header_changes) -> requests.Response:
    url = sandbox.base_url + path
    headers = signer.headers("GET", url) | header_changes
    return requests.get(url, headers=headers, timeout=5)


@pytest.fixture
def signer(kalshi_key) -> KalshiSigner:
    return KalshiSigner.from_file(kalshi_key.key_id, kalshi_key.private_key_path)


def test_sandbox_verifies_signatures_rather_than_comparing_them(sandbox, signer):
    first = signer.headers("GET", sandbox.base_url + "/trade-api/v2/portfolio/balance")
    second = signer.headers("GET", sandbox.base_url + "/trade-api/v2/portfolio/balance")
    assert first["KALSHI-ACCESS-SIGNATURE"] != second["KALSHI-ACCESS-SIGNATURE"]  # PSS is randomized

    assert _signed_get(sandbox, signer, "/trade-api/v2/portfolio/balance").status_code == 200
    # The query string is not part of the signed message.
    assert _signed_get(sandbox, signer, "/trade-api/v2/portfolio/fills?limit=5").status_code == 200


def test_tampered_stale_and_misdirected_signatures_get_401(sandbox, signer):
    good = signer.headers("GET", sandbox.base_url + "/trade-api/v2/portfolio/balance")
    signature = good["KALSHI-ACCESS-SIGNATURE"]
    tampered = ("B" if signature[10] == "A" else "A").join((signature[:10], signature[11:]))
    stale_ms = int(time.time() * 1000) - 60_000
    stale = signer.headers("GET", sandbox.base_url + "/trade-api/v2/portfolio/balance", now_ms=stale_ms)

    cases = [
        ("INCORRECT_API_KEY_SIGNATURE", _signed_get(sandbox, signer, "/trade-api/v2/portfolio/balance",
                                                    **{"KALSHI-ACCESS-SIGNATURE": tampered})),
        ("TIMESTAMP_OUT_OF_RANGE", requests.get(sandbox.base_url + "/trade-api/v2/portfolio/balance",
                                                headers=stale, timeout=5)),
        ("INVALID_TIMESTAMP", _signed_get(sandbox, signer, "/trade-api/v2/portfolio/balance",
                                          **{"KALSHI-ACCESS-TIMESTAMP": str(int(time.time()))})),
        # Signed for one path, sent to another.
        ("INCORRECT_API_KEY_SIGNATURE", requests.get(sandbox.base_url + "/trade-api/v2/portfolio/positions",
                                                     headers=good, timeout=5)),
        ("MISSING_API_KEY_HEADERS", requests.get(sandbox.base_url + "/trade-api/v2/portfolio/balance", timeout=5)),
    ]
    for reason, response in cases:
        assert response.status_code == 401, reason
        error = response.json()["error"]
        assert error["code"] == "authentication_error", reason
        assert f"desc = {reason}" in error["details"], (reason, error)


# ---- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "rate_limit", "count": 3},
        {"kind": "server_error", "status": 500, "count": 2},
        {"kind": "server_error", "status": 503, "count": 1},
        {"kind": "reset", "count": 2},
        {"kind": "truncate", "count": 2},
        {"kind": "invalid_json", "count": 1},
        {"kind": "slow", "delay_seconds": 1.5, "count": 1},
    ],
    ids=lambda fault: f"{fault['kind']}-{fault.get('status', '')}{fault['count']}",
)
def test_transient_failures_are_retried_and_nothing_is_lost(sandbox, kalshi_settings, fast_retries, fault):
    with KalshiClient(kalshi_settings, retry_policy=fast_retries) as client:
        expected = crawl(client, limit=4)
    sandbox.inject(path=MARKETS, **fault)
    settings = KalshiSettings(base_url=kalshi_settings.base_url, timeout_seconds=0.5)

    with KalshiClient(settings, retry_policy=fast_retries) as client:
        got = crawl(client, limit=4)
        stats = client.stats

    assert got == expected and len(set(got)) == NFL_MARKETS
    assert sandbox.stats()[f"fault_{fault['kind']}"] == fault["count"]
    assert stats.requests == 4 + fault["count"]  # four pages plus one retry per fault
    if fault["kind"] == "rate_limit":
        assert stats.rate_limited == 3


def test_retries_stop_at_the_attempt_bound_with_a_clear_error(sandbox, kalshi_client):
    sandbox.inject("server_error", path=MARKETS, status=502, count=None, probability=1.0)

    with pytest.raises(KalshiRetryError) as caught:
        crawl(kalshi_client)

    message = str(caught.value)
    assert message.startswith("GET /trade-api/v2/markets: gave up after 6 attempt(s)")
    assert "HTTP 502" in message and "limit 6 attempts / 20 s" in message
    assert sandbox.stats()["fault_server_error"] == 6


def test_retries_stop_at_the_time_bound(sandbox, kalshi_settings):
    sandbox.inject("rate_limit", path=MARKETS, count=None, probability=1.0)
    policy = RetryPolicy(max_attempts=50, max_total_seconds=0.5, initial_backoff_seconds=0.1,
                         max_backoff_seconds=0.2, jitter_seconds=0.0)
    started = time.monotonic()

    with KalshiClient(kalshi_settings, retry_policy=policy) as client, pytest.raises(KalshiRetryError) as caught:
        crawl(client)

    assert time.monotonic() - started < 1.5
    assert 2 <= sandbox.stats()["fault_rate_limit"] < 50
    assert "HTTP 429: too many requests" in str(caught.value)


def test_client_errors_are_not_retried(sandbox, kalshi_client):
    with pytest.raises(KalshiNotFound, match="GET /trade-api/v2/markets/NOPE: HTTP 404 not_found"):
        kalshi_client.get_market("NOPE")

    assert kalshi_client.stats.requests == 1 and sandbox.stats()["status_404"] == 1


# ---- pagination ---------------------------------------------------------------------------------


def test_pagination_follows_cursors_to_the_end(sandbox, kalshi_client):
    tickers = crawl(kalshi_client, limit=3)

    world = sorted(t for g in sandbox.describe_world()["games"] for t in g["markets"].values())
    assert tickers == world
    assert kalshi_client.stats.requests == 5  # 3+3+3+3+2


def test_a_repeating_cursor_is_detected(sandbox, kalshi_client):
    sandbox.inject("repeat_cursor", path=MARKETS)

    with pytest.raises(KalshiPaginationError, match="sent cursor .* a second time after 2 page"):
        crawl(kalshi_client, limit=5)


def test_max_pages_backstop(sandbox, kalshi_settings, fast_retries):
    with KalshiClient(kalshi_settings, retry_policy=fast_retries, max_pages=2) as client:
        with pytest.raises(KalshiPaginationError, match="more than 2 pages"):
            crawl(client, limit=3)


def test_status_filter_values_are_checked_before_any_request(kalshi_client):
    with pytest.raises(ValueError, match="'active' map to 'open'"):
        crawl(kalshi_client, status="active")
    assert kalshi_client.stats.requests == 0


@pytest.mark.parametrize(("filters", "message"), [
    ({"status": "closed", "min_settled_ts": 1}, r"settled timestamp filters go only with status \['settled'\]"),
    ({"status": "open", "min_close_ts": 1}, r"close timestamp filters go only with status \['closed'\]"),
    ({"min_close_ts": 1, "min_settled_ts": 1}, "one timestamp filter family; got close and settled"),
    ({"status": "settled", "min_settled_ts": -5}, "min_settled_ts must be Unix seconds.*-5"),
    ({"status": "settled", "min_settled_ts": "1700000000"}, "min_settled_ts must be Unix seconds"),
    ({"min_close_ts": 20, "max_close_ts": 10}, "min_close_ts 20 is after max_close_ts 10"),
])
def test_timestamp_filter_combinations_kalshi_refuses_are_refused_before_any_request(kalshi_client, filters, message):
    with pytest.raises(ValueError, match=message):
        crawl(kalshi_client, **filters)
    assert kalshi_client.stats.requests == 0


def test_settled_since_asks_only_for_markets_settled_from_then_and_notes_the_exchange_clock(sandbox, kalshi_client):
    first = sandbox.describe_world()["games"][0]
    finalized = datetime.fromisoformat(first["finalized_at"])
    sandbox.set_time(finalized + timedelta(hours=1))

    since = crawl(kalshi_client, status="settled", min_settled_ts=int(finalized.timestamp()))
    after = crawl(kalshi_client, status="settled", min_settled_ts=int(finalized.timestamp()) + 1)

    assert set(first["markets"].values()) <= set(since) and not set(first["markets"].values()) & set(after)
    # The Date header is the sandbox's simulated clock: "since" is measured on the exchange's time.
    assert kalshi_client.first_response_date == finalized + timedelta(hours=1)


# ---- malformed payloads -----------------------------------------------------------------------


def test_malformed_market_raises_on_parse_and_partitions_into_a_reject(sandbox, kalshi_client):
    bad = "KXNFLGAME-25NOV09DETWAS-WAS"
    sandbox.inject("malform", path=MARKETS, ticker=bad, field="yes_bid_dollars", value="abc", count=2)

    with pytest.raises(KalshiParseError) as caught:
        list(kalshi_client.iter_markets(series_ticker="KXNFLGAME"))
    valid, rejected = crawl_parsed(kalshi_client)

    assert (caught.value.key, caught.value.field, caught.value.value) == (bad, "yes_bid_dollars", "'abc'")
    assert len(valid) == NFL_MARKETS - 1 and bad not in {m.ticker for m in valid}
    assert [(r.business_key, r.payload["yes_bid_dollars"]) for r in rejected] == [(bad, "abc")]


def test_null_ticker_is_rejected_without_a_key(sandbox, kalshi_client):
    sandbox.inject("malform", path=MARKETS, field="ticker", value=None)

    valid, rejected = crawl_parsed(kalshi_client)

    assert len(valid) == NFL_MARKETS - 1
    assert rejected[0].business_key is None and "field 'ticker' is missing" in rejected[0].reason


# ---- rate limiting ------------------------------------------------------------------------------


def test_the_limiter_keeps_a_long_crawl_under_the_server_bucket(kalshi_key, fast_retries):
    # 150 small pages: far more than the Basic bucket's 40-request burst plus 20 requests a second.
    config = SandboxConfig(start=SANDBOX_START, speed=0, extra_markets=1500)
    with SandboxServer(config) as sandbox:
        settings = KalshiSettings(base_url=sandbox.kalshi_base_url)
        with KalshiClient(settings, retry_policy=fast_retries) as client:  # Basic tier by default
            throttled = list(client.iter_market_payloads(series_ticker="KXSANDBOX", limit=10))
            polite = client.stats
        server_after_polite = sandbox.stats()
        # The same crawl with a limiter sized for a much higher tier overruns the Basic bucket.
        with KalshiClient(settings, retry_policy=fast_retries,
                          rate_limiter=KalshiRateLimiter(TIERS["prestige"])) as client:
            greedy = list(client.iter_market_payloads(series_ticker="KXSANDBOX", limit=10))
            rude = client.stats

    assert len(throttled) == len(greedy) == 1500 and len({m["ticker"] for m in throttled}) == 1500
    assert polite.requests == 150 and polite.rate_limited == 0 and "rate_limited" not in server_after_polite
    assert polite.throttled_seconds > 0  # the client waited instead of being refused
    assert rude.rate_limited > 0 and sandbox.stats()["rate_limited"] == rude.rate_limited


# ---- orders -----------------------------------------------------------------------------------------


def _active_market(sandbox, kalshi_client, team="WSH"):
    ticker = sandbox.describe_world()["games"][0]["markets"][team]
    sandbox.advance(30 * 60)  # the first games are on
    return ticker


def test_ioc_buy_fills_at_the_ask_and_moves_cash_exactly(sandbox, kalshi_client):
    ticker = _active_market(sandbox, kalshi_client)
    sandbox.set_quotes(ticker, yes_bid="0.40", yes_ask="0.42", yes_ask_size="500")

    response = kalshi_client.create_order(ticker=ticker, side="bid", count=10, price=Decimal("0.45"),
                                          time_in_force="immediate_or_cancel")

    fee = Decimal("0.18")  # ceil(0.07 * 10 * 0.42 * 0.58 = 0.1705) to the cent
    assert response.fill_count == 10 and response.remaining_count == 0
    assert response.average_fill_price == Decimal("0.42")
    assert kalshi_client.get_balance().balance == Decimal("1000") - Decimal("4.20") - fee
    [position] = kalshi_client.iter_positions()
    assert (position.ticker, position.position, position.market_exposure) == (ticker, 10, Decimal("4.20"))
    [fill] = kalshi_client.iter_fills(ticker=ticker)
    assert fill.is_taker and fill.fee_cost == fee and fill.yes_price == Decimal("0.42")


def test_fill_or_kill_beyond_the_book_fills_nothing(sandbox, kalshi_client):
    ticker = _active_market(sandbox, kalshi_client)
    sandbox.set_quotes(ticker, yes_bid="0.40", yes_ask="0.42", yes_ask_size="5")

    response = kalshi_client.create_order(ticker=ticker, side="bid", count=50, price=Decimal("0.42"),
                                          time_in_force="fill_or_kill")

    assert response.fill_count == 0 and kalshi_client.get_order(response.order_id).status == "canceled"
    assert kalshi_client.get_balance().balance == Decimal("1000")


def test_resting_order_fills_when_the_price_comes_to_it_and_can_be_cancelled(sandbox, kalshi_client):
    ticker = _active_market(sandbox, kalshi_client)
    sandbox.set_quotes(ticker, yes_bid="0.40", yes_ask="0.42")
    resting = kalshi_client.create_order(ticker=ticker, side="bid", count=5, price=Decimal("0.35"),
                                         time_in_force="good_till_canceled")
    other = kalshi_client.create_order(ticker=ticker, side="bid", count=5, price=Decimal("0.30"),
                                       time_in_force="good_till_canceled")
    assert kalshi_client.get_order(resting.order_id).status == "resting"

    sandbox.set_quotes(ticker, yes_bid="0.33", yes_ask="0.34")  # the ask falls through 0.35
    filled = kalshi_client.get_order(resting.order_id)
    cancelled = kalshi_client.cancel_order(other.order_id)

    assert filled.status == "executed" and filled.maker_fill_cost == Decimal("1.75") and filled.maker_fees == 0
    assert cancelled.reduced_by == 5 and kalshi_client.get_order(other.order_id).status == "canceled"


def test_order_creation_is_idempotent_across_a_lost_response(sandbox, kalshi_client):
    ticker = _active_market(sandbox, kalshi_client)
    sandbox.set_quotes(ticker, yes_bid="0.40", yes_ask="0.42")
    # The exchange places the order, then the connection dies before the answer arrives.
    sandbox.inject("truncate", path="/trade-api/v2/portfolio/events/orders", method="POST")

    response = kalshi_client.create_order(ticker=ticker, side="bid", count=3, price=Decimal("0.42"),
                                          time_in_force="immediate_or_cancel", client_order_id="once-only")

    orders = list(kalshi_client.iter_orders(ticker=ticker))
    assert [o.client_order_id for o in orders] == ["once-only"]
    assert response.order_id == orders[0].order_id and response.fill_count == 3
    with pytest.raises(KalshiConflictError, match="409 order_already_exists"):
        kalshi_client.create_order(ticker=ticker, side="bid", count=3, price=Decimal("0.42"),
                                   time_in_force="immediate_or_cancel", client_order_id="once-only")


def test_settlement_pays_the_winner(sandbox, kalshi_client):
    game = sandbox.describe_world()["games"][0]
    winner_ticker = game["markets"][game["winner"]]
    sandbox.advance(30 * 60)
    sandbox.set_quotes(winner_ticker, yes_bid="0.50", yes_ask="0.52")
    kalshi_client.create_order(ticker=winner_ticker, side="bid", count=20, price=Decimal("0.52"),
                               time_in_force="immediate_or_cancel")
    before = kalshi_client.get_balance().balance

    sandbox.set_time(SANDBOX_START.fromisoformat(game["finalized_at"]))
    [settlement] = kalshi_client.iter_settlements()

    assert (settlement.ticker, settlement.market_result, settlement.yes_count) == (winner_ticker, "yes", 20)
    assert settlement.revenue == Decimal("20.00") and settlement.value == Decimal("1.00")
    assert kalshi_client.get_balance().balance == before + Decimal("20")
    assert list(kalshi_client.iter_positions()) == []


# ---- secrets ------------------------------------------------------------------------------------------


LONG_BASE64 = re.compile(r"[A-Za-z0-9+/]{200,}={0,2}")


def test_secrets_never_reach_logs_reprs_or_errors(sandbox, kalshi_key, fast_retries, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    pem_lines = [line for line in kalshi_key.private_key_path.read_text().splitlines() if "-----" not in line]
    settings = KalshiSettings(base_url=sandbox.kalshi_base_url, api_key_id=kalshi_key.key_id,
                              private_key_path=kalshi_key.private_key_path)
    errors: list[str] = []
    sandbox.inject("rate_limit", path="/trade-api/v2/portfolio/*", count=2)
    with KalshiClient(settings, retry_policy=fast_retries) as client:
        client.get_balance()
        list(client.iter_fills())
        texts = [repr(client), repr(client.settings), repr(client._signer)]
    sandbox.register_key(kalshi_key.key_id, rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    with KalshiClient(settings, retry_policy=fast_retries) as client:
        try:
            client.get_balance()
        except KalshiAuthError as error:
            errors.append(str(error))

    everything = "\n".join([caplog.text, *texts, *errors])
    assert errors and "retry 1/5" in caplog.text  # something was logged and raised
    assert not any(line in everything for line in pem_lines)
    assert "KALSHI-ACCESS-SIGNATURE" not in everything and not LONG_BASE64.search(everything)


def test_key_file_problems_are_one_clear_error_naming_the_path_only(tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nTOP-SECRET-MATERIAL\n-----END PRIVATE KEY-----\n")
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass")))
    elliptic = tmp_path / "ec.pem"
    elliptic.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    cases = {
        tmp_path / "missing.pem": "does not exist",
        tmp_path: "is a directory",
        garbage: "is not a PEM RSA private key",
        encrypted: "is encrypted",
        elliptic: "not an RSA key",
    }
    for path, reason in cases.items():
        with pytest.raises(KalshiConfigError) as caught:
            load_private_key(path)
        message = str(caught.value)
        assert message.startswith(f"Kalshi private key file {path} (KALSHI_PRIVATE_KEY_PATH)") and reason in message
        assert "TOP-SECRET" not in message and caught.value.__cause__ is None


def test_a_resting_only_book_set_over_http_fills_its_size_once(sandbox, kalshi_client):
    """How tests make an exit fill in parts: a bid of 40 pinned with ``resting_only`` through the
    admin API is all the book holds, and selling into it uses it up."""
    ticker = _active_market(sandbox, kalshi_client)
    sandbox.set_quotes(ticker, yes_bid="0.40", yes_ask="0.42", yes_ask_size="500")
    kalshi_client.create_order(ticker=ticker, side="bid", count=100, price=Decimal("0.42"),
                               time_in_force="immediate_or_cancel")
    pinned = requests.post(f"{sandbox.base_url}/_sandbox/markets/{ticker}/quotes", timeout=5, json={
        "yes_bid": "0.40", "yes_ask": "0.42", "yes_bid_size": "40", "resting_only": True})

    first = kalshi_client.create_order(ticker=ticker, side="ask", count=100, price=Decimal("0.01"),
                                       time_in_force="immediate_or_cancel")
    second = kalshi_client.create_order(ticker=ticker, side="ask", count=60, price=Decimal("0.01"),
                                        time_in_force="immediate_or_cancel")

    assert pinned.status_code == 200
    assert (first.fill_count, first.average_fill_price) == (40, Decimal("0.40"))  # no deeper levels
    assert second.fill_count == 0 and kalshi_client.get_market(ticker).yes_bid_size == 0
    [position] = kalshi_client.iter_positions()
    assert position.position == 60
