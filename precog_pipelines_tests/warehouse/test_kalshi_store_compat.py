"""The client's parsed objects load through the warehouse store as they are (interface check)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from precog_pipelines.lib.ingest.kalshi_store import merge_markets, upsert_events, upsert_series
from precog_pipelines.lib.ingest.rejects import parse_batch
from precog_pipelines.lib.kalshi import KalshiParseError, parse_market
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.conftest import SANDBOX_START


def test_sandbox_series_events_and_markets_store_with_history(sandbox, kalshi_client, warehouse_url, db):
    series = kalshi_client.get_series("KXNFLGAME")
    events = list(kalshi_client.iter_events(series_ticker="KXNFLGAME"))
    with connect(warehouse_url) as conn:  # one transaction, committed on exit
        upsert_series(conn, [series])
        upsert_events(conn, events)
        first = merge_markets(conn, list(kalshi_client.iter_markets(series_ticker="KXNFLGAME")), SANDBOX_START)
    sandbox.inject("malform", path="/trade-api/v2/markets", ticker="KXNFLGAME-25NOV09DETWAS-DET",
                   field="yes_bid_dollars", value="abc")
    sandbox.advance(3600)
    markets, rejects = parse_batch(kalshi_client.iter_market_payloads(series_ticker="KXNFLGAME"), parse_market,
                                   "ticker", (KalshiParseError,))
    with connect(warehouse_url) as conn:
        second = merge_markets(conn, markets, SANDBOX_START + timedelta(hours=1))

    stored = db.execute("SELECT tags, fee_multiplier, settlement_sources FROM series").fetchone()
    versions = db.execute("SELECT count(*), count(*) FILTER (WHERE row_current_ind) FROM markets").fetchone()
    assert stored == (["Football"], series.fee_multiplier, [{"name": "NFL", "url": "https://www.nfl.com/"}])
    assert first.rejects == [] and second.rejects == []
    assert [r.business_key for r in rejects] == ["KXNFLGAME-25NOV09DETWAS-DET"]
    assert versions[1] == 14 and versions[0] > 14


def test_a_changed_market_under_another_event_than_its_tickers_is_rejected_naming_both(
        sandbox, kalshi_client, warehouse_url, db):
    """A version's ticker and event are one foreign key (sql/0143): a row whose event is not the one
    its ticker was registered with is refused by name before anything is sent, and the rest loads."""
    events = list(kalshi_client.iter_events(series_ticker="KXNFLGAME"))
    markets = list(kalshi_client.iter_markets(series_ticker="KXNFLGAME"))
    with connect(warehouse_url) as conn:
        upsert_series(conn, [kalshi_client.get_series("KXNFLGAME")])
        upsert_events(conn, events)
        merge_markets(conn, markets, SANDBOX_START)
    moved, unknown, *rest = [dataclasses.replace(m, close_time=m.close_time + timedelta(days=1)) for m in markets]
    elsewhere = next(e.event_ticker for e in events if e.event_ticker != moved.event_ticker)
    before = db.execute("SELECT ticker, event_ticker, close_time FROM markets_current WHERE ticker = ANY(%s) "
                        "ORDER BY ticker", ([moved.ticker, unknown.ticker],)).fetchall()

    with connect(warehouse_url) as conn:
        result = merge_markets(conn, [dataclasses.replace(moved, event_ticker=elsewhere),
                                      dataclasses.replace(unknown, event_ticker="KXNFLGAME-NOSUCHEVENT"), *rest],
                               SANDBOX_START + timedelta(hours=1))

    assert sorted((r.business_key, r.reason) for r in result.rejects) == sorted([
        (moved.ticker, f"event_ticker {elsewhere!r} is not {moved.event_ticker!r}, "
                       "the event this ticker is registered with in market_tickers"),
        (unknown.ticker, "event_ticker 'KXNFLGAME-NOSUCHEVENT' is not in events; load it first")])
    assert (result.written.closed, result.written.inserted) == (len(rest), len(rest))
    assert db.execute("SELECT ticker, event_ticker, close_time FROM markets_current WHERE ticker = ANY(%s) "
                      "ORDER BY ticker", ([moved.ticker, unknown.ticker],)).fetchall() == before
