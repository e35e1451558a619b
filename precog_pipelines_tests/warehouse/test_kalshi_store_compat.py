"""The client's parsed objects load through the warehouse store as they are (interface check)."""

from __future__ import annotations

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
