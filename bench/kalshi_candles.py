"""Backfill one day of Kalshi candlesticks from the sandbox and print JSON figures.

The sandbox (in this process, Basic-tier token bucket on, clock frozen after the day's games)
serves its NFL Sunday: six games played, twelve markets closed. The day is fetched through the
client's limiter and retries exactly as the ``kalshi_candlesticks`` asset does (one market list
per series, two candle windows per market), stored through the ingestion pipeline into a
throw-away migrated database, then backfilled again (which stores nothing).

    .venv/bin/python bench/kalshi_candles.py

Reported: markets, requests, candles, seconds fetching (sandbox-side candle derivation
included), seconds storing, inserted rows on the first and the second run, and the request
count and minimum seconds of an NFL Sunday at Basic tier (16 games, 20 requests per second).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _database import bench_database  # noqa: E402

from precog_pipelines.lib.ingest.kalshi_store import CANDLES_INGESTION, EVENTS_INGESTION, SERIES_INGESTION  # noqa: E402
from precog_pipelines.lib.ingest.pipeline import ingest  # noqa: E402
from precog_pipelines.lib.kalshi import TIERS, KalshiClient, KalshiSettings  # noqa: E402
from precog_pipelines.lib.kalshi.candle_backfill import fetch_closed_market_candles  # noqa: E402
from precog_pipelines.lib.kalshi.ratelimit import DEFAULT_COST  # noqa: E402
from precog_pipelines.lib.warehouse.server import connect  # noqa: E402
from precog_pipelines.sandbox.server import SandboxConfig, SandboxServer  # noqa: E402
from precog_pipelines.sandbox.world import NFL_SERIES  # noqa: E402

START = datetime(2025, 11, 9, 17, 0, tzinfo=UTC)
NFL_SUNDAY_GAMES = 16


def _backfill(client: KalshiClient, url: str, day: datetime) -> dict:
    started = time.perf_counter()
    fetch = fetch_closed_market_candles(client, [NFL_SERIES], day, day + timedelta(days=1))
    fetched = time.perf_counter()
    with connect(url) as conn:
        report = ingest(conn, CANDLES_INGESTION, fetch.records, datetime.now(UTC), "bench")
    stored = time.perf_counter()
    return {"markets": len(fetch.markets), "requests": fetch.requests, "candles": len(fetch.records),
            "fetch_seconds": round(fetched - started, 3), "store_seconds": round(stored - fetched, 3),
            "inserted": report.load.written.inserted if report.load else None, "rejected": len(report.rejects)}


def main() -> None:
    with bench_database("bench_candles") as url, SandboxServer(SandboxConfig(start=START, speed=0)) as sandbox:
        sandbox.set_time(START + timedelta(hours=8))
        with KalshiClient(KalshiSettings(base_url=sandbox.kalshi_base_url)) as client:
            with connect(url) as conn:
                ingest(conn, SERIES_INGESTION, [client.get_series_payload(NFL_SERIES)], datetime.now(UTC), "bench")
                ingest(conn, EVENTS_INGESTION, list(client.iter_event_payloads(series_ticker=NFL_SERIES)),
                       datetime.now(UTC), "bench")
            day = START.replace(hour=0)
            first = _backfill(client, url, day)
            second = _backfill(client, url, day)
            throttled = client.stats.throttled_seconds
    basic_requests_per_second = TIERS["basic"].rate("read") / DEFAULT_COST
    sunday_requests = 1 + 2 * 2 * NFL_SUNDAY_GAMES
    print(json.dumps({
        "first_run": first, "second_run": second, "client_throttled_seconds": round(throttled, 3),
        "nfl_sunday_at_basic_tier": {"requests": sunday_requests,
                                     "minimum_seconds": round(sunday_requests / basic_requests_per_second, 1)},
    }, indent=2))


if __name__ == "__main__":
    main()
