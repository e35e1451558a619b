"""Kalshi series, events and markets: the left edge of the lineage graph."""

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import dagster as dg
from pydantic import Field

from precog_pipelines.core.checks import ingestion_check_specs
from precog_pipelines.core.ingestion import NOTHING_MERGED, NOTHING_UPSERTED, ingestion_result, written_metadata
from precog_pipelines.core.metadata import markdown_table
from precog_pipelines.defs.kalshi.partitions import candle_days
from precog_pipelines.lib import alerts
from precog_pipelines.lib.ingest.kalshi_store import (
    CANDLES_INGESTION,
    EVENTS_INGESTION,
    MARKETS_INGESTION,
    SERIES_INGESTION,
)
from precog_pipelines.lib.ingest.market_ticks import (
    MARKETS_SOURCE,
    MISSED_FINGERPRINT,
    MISSED_SAMPLE,
    MarketCrawl,
    crawl_markets,
    missed_message,
    stored_at,
)
from precog_pipelines.lib.ingest.pipeline import Ingestion, ingest
from precog_pipelines.lib.ingest.watermarks import advance_watermarks, read_watermarks
from precog_pipelines.lib.kalshi.candle_backfill import fetch_closed_market_candles
from precog_pipelines.lib.warehouse.fingerprint import scd2_fingerprint
from precog_pipelines.resources.sources import KalshiResource
from precog_pipelines.resources.warehouse import WarehouseResource

KINDS = {"kalshi", "postgres", "python"}
OWNERS = ["team:precog"]


def _ingest_reference(context: dg.AssetExecutionContext, warehouse: WarehouseResource, asset: str,
                      spec: Ingestion, payloads: list, preview: Callable[[Any], dict]) -> dg.MaterializeResult:
    """Series and events: upserted reference rows."""
    with warehouse.connection() as conn:
        report = ingest(conn, spec, payloads, datetime.now(timezone.utc), context.run.run_id)
    written = report.load.written if report.load else NOTHING_UPSERTED
    return ingestion_result(asset, report, written=written_metadata(written), row_count=written.staged,
                            preview=[preview(item) for item in report.parsed])


@dg.asset(group_name="kalshi", kinds=KINDS, owners=OWNERS, pool="kalshi_api",
          check_specs=ingestion_check_specs("kalshi_series"))
def kalshi_series(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  kalshi: KalshiResource) -> dg.MaterializeResult:
    """Kalshi series we trade (PRECOG_KALSHI_SERIES, default KXNFLGAME): title, category and the
    taker-fee type and multiplier that every edge is computed net of. One row per series ticker
    in `series`, upserted: unchanged series write nothing."""
    with kalshi.client() as client:
        payloads = [client.get_series_payload(ticker) for ticker in kalshi.series]
    return _ingest_reference(
        context, warehouse, "kalshi_series", SERIES_INGESTION, payloads,
        lambda s: {"ticker": s.ticker, "title": s.title, "fee_type": s.fee_type, "fee_multiplier": s.fee_multiplier})


@dg.asset(group_name="kalshi", kinds=KINDS, owners=OWNERS, pool="kalshi_api", deps=[kalshi_series],
          check_specs=ingestion_check_specs("kalshi_events"))
def kalshi_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  kalshi: KalshiResource) -> dg.MaterializeResult:
    """Every event (one per game) of the configured series, whatever its status, in `events`:
    title, mutual exclusivity and fee overrides, upserted by event ticker. An event whose series
    is unknown is quarantined in ingestion_rejects."""
    with kalshi.client() as client:
        payloads = [p for series in kalshi.series for p in client.iter_event_payloads(series_ticker=series)]
    return _ingest_reference(context, warehouse, "kalshi_events", EVENTS_INGESTION, payloads,
                             lambda e: {"event_ticker": e.event_ticker, "title": e.title})


class MarketsCrawl(dg.Config):
    """How one kalshi_markets run fetches."""

    full_crawl: bool = Field(
        default=False, description="Fetch every market of the configured series (the daily full crawl) instead of "
                                   "only those that can have changed since the last successful tick.")


@dg.asset(group_name="kalshi", kinds=KINDS, owners=OWNERS, pool="kalshi_api", deps=[kalshi_events],
          check_specs=ingestion_check_specs("kalshi_markets"))
def kalshi_markets(context: dg.AssetExecutionContext, config: MarketsCrawl, warehouse: WarehouseResource,
                   kalshi: KalshiResource) -> dg.MaterializeResult:
    """Markets of the configured series as SCD Type 2 history in `markets`: a new version only
    when prices, sizes, status, result or close time changed, the old one closed in the same
    transaction. A tick fetches only what can have changed since the last successful one
    (unopened, open, paused and closed markets, and those settled since, less an overlap; its
    watermark in `ingestion_watermarks`, written with the merge); a series without a watermark,
    or a run with `full_crawl: true` (the daily `kalshi_markets_full_crawl`), fetches everything
    and reports, with a warning alert, the settled markets it stored that the ticks had missed.
    Markets not fetched keep their current version. Malformed markets are quarantined in
    ingestion_rejects; a snapshot that fails its contract is not stored, nor its watermark moved."""
    with warehouse.connection() as conn:
        watermarks = read_watermarks(conn, MARKETS_SOURCE, kalshi.series)
    with kalshi.client() as client:
        crawl = crawl_markets(client, kalshi.series, watermarks, timedelta(minutes=kalshi.tick_overlap_minutes),
                              full=config.full_crawl)
        requests = client.stats.requests
    observed_at = datetime.now(timezone.utc)
    with warehouse.connection() as conn:
        report = ingest(conn, MARKETS_INGESTION, crawl.payloads, observed_at, context.run.run_id)
        missed: list[str] = []
        if report.stored:
            advance_watermarks(conn, MARKETS_SOURCE, kalshi.series, crawl.started_at, context.run.run_id)
            missed = stored_at(conn, crawl.beyond_ticks, observed_at)
            if missed:
                alerts.raise_alert(conn, "warning", MARKETS_SOURCE, missed_message(missed), MISSED_FINGERPRINT,
                                   {"missed": len(missed), "tickers": missed[:MISSED_SAMPLE], "run_id": context.run.run_id})
            elif crawl.checks_ticks:
                alerts.resolve_alert(conn, MISSED_FINGERPRINT)  # a full crawl found the ticks complete again
        current = conn.execute("SELECT count(*) FROM markets WHERE row_current_ind").fetchone()[0]
        version = scd2_fingerprint(conn, "markets")
    if missed:
        context.log.warning(missed_message(missed))
    return ingestion_result(
        "kalshi_markets", report, observed_at=observed_at, row_count=current, data_version=version,
        written=written_metadata(report.load.written if report.load else NOTHING_MERGED, new_keys="new_tickers"),
        preview=[{"ticker": m.ticker, "status": m.status, "yes_bid": m.yes_bid, "yes_ask": m.yes_ask,
                  "last_price": m.last_price, "result": m.result} for m in sorted(report.parsed, key=lambda m: m.ticker)],
        extra=crawl_metadata(crawl, requests, missed),
    )


@dg.asset(group_name="kalshi", kinds=KINDS, owners=OWNERS, pool="kalshi_api", deps=[kalshi_events],
          partitions_def=candle_days, backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=7),
          check_specs=ingestion_check_specs("kalshi_candlesticks"))
def kalshi_candlesticks(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        kalshi: KalshiResource) -> dg.MaterializeResult:
    """Kalshi price history in `market_candles`, one partition per UTC day: the candlesticks of
    every market of the configured series that closed that day, hourly over its last 14 days
    and per minute from an hour before its game's expected start to its close (two requests per
    market, through the shared rate limiter and retries). Quotes and trade prices in dollars,
    volume and open interest per candle. Each candle is stored once (ticker, period, end): a
    re-run of a day inserts nothing. A backfill runs up to a week of days per run. The warehouse
    backtest replays these candles for markets it never saw as versions."""
    window = context.partition_time_window
    with kalshi.client() as client:
        fetch = fetch_closed_market_candles(client, kalshi.series, window.start, window.end)
    with warehouse.connection() as conn:
        report = ingest(conn, CANDLES_INGESTION, fetch.records, datetime.now(timezone.utc), context.run.run_id)
        stored = conn.execute("SELECT count(*) FROM market_candles").fetchone()[0]
    result = ingestion_result(
        "kalshi_candlesticks", report, row_count=stored,
        written=written_metadata(report.load.written if report.load else NOTHING_UPSERTED),
        preview=[{"ticker": c.ticker, "period": c.period_interval, "end": c.end_period_ts.isoformat(),
                  "yes_bid": c.yes_bid_close, "yes_ask": c.yes_ask_close, "volume": c.volume}
                 for c in report.parsed[:20]])
    return dg.MaterializeResult(metadata={
        **(result.metadata or {}), "days": f"{window.start:%Y-%m-%d}..{window.end:%Y-%m-%d} (end excluded)",
        "markets": len(fetch.markets), "unreadable_markets": len(fetch.unreadable_markets),
        "requests": fetch.requests}, check_results=result.check_results)


def crawl_metadata(crawl: MarketCrawl, requests: int, missed: list[str]) -> dict[str, Any]:
    """How the run fetched: full or incremental per series, the requests it took, the window."""
    metadata: dict[str, Any] = {
        "crawl": crawl.kind,
        "kalshi_requests": requests,
        "watermark": crawl.started_at.isoformat(),
        "series_crawls": markdown_table([
            {"series": s.series, "crawl": "full" if s.full else "incremental",
             "settled_since": s.settled_since.isoformat() if s.settled_since else "", "fetched": s.fetched}
            for s in crawl.series]),
    }
    if crawl.checks_ticks:
        metadata["missed_by_ticks"] = len(missed)
        metadata["missed_tickers"] = ", ".join(missed[:MISSED_SAMPLE]) + (" ..." if len(missed) > MISSED_SAMPLE else "")
    return metadata
