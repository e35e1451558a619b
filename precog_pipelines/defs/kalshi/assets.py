"""Kalshi series, events and markets: the left edge of the lineage graph."""

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import dagster as dg

from precog_pipelines.core.check_results import (
    contract_check_result,
    ingestion_check_specs,
    markdown_table,
    rejects_check_result,
)
from precog_pipelines.lib.ingest.kalshi_store import LoadResult, merge_markets, upsert_events, upsert_series
from precog_pipelines.lib.ingest.rejects import accepted_payloads, parse_batch, record_rejects
from precog_pipelines.lib.kalshi import KalshiParseError, parse_event, parse_market, parse_series
from precog_pipelines.lib.quality.gx_suites import validate_records
from precog_pipelines.resources.sources import KalshiResource
from precog_pipelines.resources.warehouse import WarehouseResource

KINDS = {"kalshi", "postgres", "python"}
OWNERS = ["team:precog"]


def _reference_result(context: dg.AssetExecutionContext, warehouse: WarehouseResource, asset: str, entity: str,
                      payloads: list, parse: Callable[[Any], Any], key_field: str,
                      store: Callable[[Any, list], LoadResult], preview: Callable[[Any], dict]) -> dg.MaterializeResult:
    """Parse, upsert and quarantine one batch of reference rows (series or events), then report it."""
    parsed, rejects = parse_batch(payloads, parse, key_field, (KalshiParseError,))
    with warehouse.connection() as conn:
        loaded = store(conn, parsed)
        rejects += loaded.rejects
        record_rejects(conn, "kalshi", entity, rejects, context.run.run_id)
    written = loaded.written
    report = validate_records(asset, accepted_payloads(payloads, rejects, key_field))
    return dg.MaterializeResult(
        metadata={"fetched": len(payloads), "inserted": written.inserted, "updated": written.updated,
                  "unchanged": written.unchanged, "rejected": len(rejects), "dagster/row_count": written.staged,
                  "preview": markdown_table([preview(item) for item in parsed])},
        check_results=[contract_check_result(asset, report), rejects_check_result(asset, rejects, len(payloads))],
    )


@dg.asset(group_name="kalshi", kinds=KINDS, owners=OWNERS, pool="kalshi_api",
          check_specs=ingestion_check_specs("kalshi_series"))
def kalshi_series(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  kalshi: KalshiResource) -> dg.MaterializeResult:
    """Kalshi series we trade (PRECOG_KALSHI_SERIES, default KXNFLGAME): title, category and the
    taker-fee type and multiplier that every edge is computed net of. One row per series ticker
    in `series`, upserted: unchanged series write nothing."""
    with kalshi.client() as client:
        payloads = [client.get_series_payload(ticker) for ticker in kalshi.series]
    return _reference_result(
        context, warehouse, "kalshi_series", "series", payloads, parse_series, "ticker", upsert_series,
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
    return _reference_result(
        context, warehouse, "kalshi_events", "event", payloads, parse_event, "event_ticker", upsert_events,
        lambda e: {"event_ticker": e.event_ticker, "title": e.title})


@dg.asset(group_name="kalshi", kinds=KINDS, owners=OWNERS, pool="kalshi_api", deps=[kalshi_events],
          check_specs=ingestion_check_specs("kalshi_markets"))
def kalshi_markets(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   kalshi: KalshiResource) -> dg.MaterializeResult:
    """Every market of the configured series as SCD Type 2 history in `markets`: a new version
    only when prices, sizes, status, result or close time changed, the old one closed in the
    same transaction. The snapshot is COPYed into a staging table and merged with two
    set-based statements. Malformed markets are quarantined in ingestion_rejects; the rest load."""
    with kalshi.client() as client:
        payloads = [p for series in kalshi.series for p in client.iter_market_payloads(series_ticker=series)]
    observed_at = datetime.now(timezone.utc)
    parsed, rejects = parse_batch(payloads, parse_market, "ticker", (KalshiParseError,))
    with warehouse.connection() as conn:
        loaded = merge_markets(conn, parsed, observed_at)
        rejects += loaded.rejects
        record_rejects(conn, "kalshi", "market", rejects, context.run.run_id)
        current = conn.execute("SELECT count(*) FROM markets WHERE row_current_ind").fetchone()[0]
    merge = loaded.written
    report = validate_records("kalshi_markets", accepted_payloads(payloads, rejects, "ticker"))
    return dg.MaterializeResult(
        metadata={
            "fetched": len(payloads), "inserted": merge.inserted, "closed": merge.closed,
            "new_tickers": merge.new_keys, "unchanged": merge.unchanged, "superseded": merge.superseded,
            "rejected": len(rejects), "observed_at": observed_at.isoformat(), "dagster/row_count": current,
            "preview": markdown_table([
                {"ticker": m.ticker, "status": m.status, "yes_bid": m.yes_bid, "yes_ask": m.yes_ask,
                 "last_price": m.last_price, "result": m.result} for m in sorted(parsed, key=lambda m: m.ticker)]),
        },
        check_results=[contract_check_result("kalshi_markets", report),
                       rejects_check_result("kalshi_markets", rejects, len(payloads))],
    )
