"""The one ingestion path: a batch that fails its contract suite writes nothing, and the run fails
on its blocking check (issue "Hardening", finding 3: once the merge had already written it)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import dagster as dg

from precog_pipelines.core.checks import ingestion_check_specs
from precog_pipelines.core.ingestion import NOTHING_MERGED, ingestion_result, written_metadata
from precog_pipelines.lib.ingest.kalshi_store import EVENTS_INGESTION, MARKETS_INGESTION, SERIES_INGESTION
from precog_pipelines.lib.ingest.pipeline import ingest
from precog_pipelines.lib.kalshi import parse_market
from precog_pipelines.lib.kalshi.client import KalshiClient
from precog_pipelines.resources.warehouse import WarehouseResource

NOW = datetime(2025, 11, 9, 17, tzinfo=UTC)
# A parser that takes what the contract refuses: the suite is then the only line of defence.
LENIENT_MARKETS = dataclasses.replace(
    MARKETS_INGESTION, parse=lambda raw: parse_market({**raw, "yes_bid_dollars": "0.5000"}))


def _reference_data(conn, kalshi_client: KalshiClient) -> list[dict]:
    ingest(conn, SERIES_INGESTION, [kalshi_client.get_series_payload("KXNFLGAME")], NOW, None)
    ingest(conn, EVENTS_INGESTION, list(kalshi_client.iter_event_payloads(series_ticker="KXNFLGAME")), NOW, None)
    return list(kalshi_client.iter_market_payloads(series_ticker="KXNFLGAME"))


def test_a_batch_that_fails_its_contract_stores_nothing_and_fails_the_run(warehouse_url, kalshi_client, db,
                                                                         dagster_instance):
    with WarehouseResource(database_url=warehouse_url).connection() as conn:
        payloads = _reference_data(conn, kalshi_client)
    payloads[0] = {**payloads[0], "yes_bid_dollars": "-0.0000"}

    @dg.asset(name="kalshi_markets", check_specs=ingestion_check_specs("kalshi_markets"))
    def lenient_markets(warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.connection() as conn:
            report = ingest(conn, LENIENT_MARKETS, payloads, NOW, None)
        return ingestion_result("kalshi_markets", report, row_count=0, preview=[],
                                written=written_metadata(report.load.written if report.load else NOTHING_MERGED))

    result = dg.materialize([lenient_markets], resources={"warehouse": WarehouseResource(database_url=warehouse_url)},
                            instance=dagster_instance, raise_on_error=False)

    [contract] = [e for e in result.get_asset_check_evaluations() if e.check_name == "batch_matches_contract"]
    assert not contract.passed and contract.metadata["expectations_failed"].value == 1
    assert "nothing" in result.asset_materializations_for_node("kalshi_markets")[0].metadata["stored"].value
    assert db.execute("SELECT count(*) FROM markets").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM ingestion_rejects").fetchone()[0] == 0


def test_a_batch_that_passes_stores_every_market_and_quarantines_a_repeated_ticker(warehouse_url, kalshi_client, db):
    with WarehouseResource(database_url=warehouse_url).connection() as conn:
        payloads = _reference_data(conn, kalshi_client)
        report = ingest(conn, MARKETS_INGESTION, [*payloads, dict(payloads[0])], NOW, "run-1")

    assert report.stored and report.contract.success
    assert [r.reason for r in report.rejects] == ["ticker appears more than once in the batch; kept the first"]
    assert db.execute("SELECT count(*) FROM markets").fetchone()[0] == len(payloads)
    assert db.execute("SELECT business_key, run_id FROM ingestion_rejects").fetchall() == [(payloads[0]["ticker"], "run-1")]
