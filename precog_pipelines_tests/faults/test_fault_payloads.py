"""Bad and strange values inside an otherwise good markets snapshot, through the real asset:
one bad value costs one row, rejected with its field and value; strange but valid text is
stored verbatim and never executed (issue 6, fault and bad-input suite). Issue "Hardening",
finding 3: values the parser once took and the contract refused; a batch that fails its contract
on a loaded warehouse writes nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import dagster as dg
import pytest

from precog_pipelines.core.checks import ingestion_check_specs
from precog_pipelines.core.ingestion import NOTHING_MERGED, ingestion_result, written_metadata
from precog_pipelines.lib.ingest.kalshi_store import MARKETS_INGESTION
from precog_pipelines.lib.ingest.pipeline import ingest
from precog_pipelines.lib.kalshi import parse_market
from precog_pipelines.lib.quality.gx_suites import validate_records
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.sources import KalshiResource
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines_tests.support.faults import (
    MARKETS_PATH,
    failure_text,
    fault_resources,
    kalshi_markets,
    materialize,
    public_tables,
    rejects,
    warehouse_dump,
)

DROP_MARKETS = "'); DROP TABLE markets; --"

# id: (field set on one market, value, field named in the reason, value as the reason shows it)
BAD_VALUES = {
    "price_not_a_number": ("yes_bid_dollars", "abc", "yes_bid_dollars", "'abc'"),
    "price_above_one": ("yes_ask_dollars", "1.5", "yes_ask_dollars", "'1.5'"),
    "price_negative": ("no_bid_dollars", "-0.1", "no_bid_dollars", "'-0.1'"),
    # Five decimals pass the wire contract (up to six) but numeric(10,4) would round them.
    "price_more_than_4_decimals": ("last_price_dollars", "0.12345", "last_price", "0.12345"),
    "numeric_overflow": ("notional_value_dollars", "1234567.5", "notional_value", "1234567.5"),
    "null_ticker": ("ticker", None, "ticker", "None"),
    "ticker_holding_sql": ("ticker", "KX" + DROP_MARKETS, "ticker", repr("KX" + DROP_MARKETS)),
    "ticker_with_nul": ("ticker", "KXNFLGAME-25NOV09\x00-X", "ticker", repr("KXNFLGAME-25NOV09\x00-X")),
    "nul_in_title": ("title", "Lions\x00win", "title", repr("Lions\x00win")),
    # Values the parser once took and the contract suite refused: the run then failed on its
    # blocking check after the merge had written the batch (issue "Hardening", finding 3).
    "negative_zero": ("yes_bid_dollars", "-0.0000", "yes_bid_dollars", "'-0.0000'"),
    "exponent": ("yes_ask_dollars", "1E+2", "yes_ask_dollars", "'1E+2'"),
    "leading_space": ("no_bid_dollars", " 0.5000", "no_bid_dollars", "' 0.5000'"),
    "small_exponent": ("last_price_dollars", "5E-1", "last_price_dollars", "'5E-1'"),
}

STRANGE_TITLES = {
    "sql": DROP_MARKETS + " SELECT pg_sleep(10); \\. \\copy markets TO '/tmp/x'",
    "control_characters": "".join(chr(c) for c in range(1, 32)) + "\x7f \u202e\u2028 tab\there \"quoted\" \\",
    "ten_megabytes": "Ten megabytes " + "x" * (10 * 1024 * 1024),
}


def _versions_and_tickers(url: str) -> tuple[int, set[str]]:
    with connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM markets").fetchone()[0], _current_tickers(conn)


def _current_tickers(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT ticker FROM markets_current")}


def _target(sandbox) -> str:
    game = sandbox.describe_world()["games"][0]
    return game["markets"][game["home"]]


@pytest.mark.parametrize("case", BAD_VALUES)
def test_a_bad_value_is_rejected_with_field_and_value_and_the_rest_load(
        case, fault_sandbox, kalshi_key, reference_warehouse_url, fully_loaded_template, dagster_instance):
    field, value, named, shown = BAD_VALUES[case]
    target = _target(fault_sandbox)
    fault = fault_sandbox.inject("malform", path=MARKETS_PATH, ticker=target, field=field, value=value)

    result = materialize([kalshi_markets], fault_resources(reference_warehouse_url, fault_sandbox, kalshi_key),
                         dagster_instance)

    assert result.success, failure_text(result)
    assert fault.fired == 1
    [(entity, key, reason, payload)] = rejects(reference_warehouse_url)
    assert entity == "market" and named in reason and shown in reason, reason
    assert key == (target if field != "ticker" else None if value is None else value.replace("\x00", "\\u0000"))
    assert "\x00" not in reason and "\x00" not in str(payload)
    _, everything = _versions_and_tickers(fully_loaded_template.url)
    assert _versions_and_tickers(reference_warehouse_url) == (len(everything) - 1, everything - {target})
    [materialization] = result.asset_materializations_for_node("kalshi_markets")
    assert materialization.metadata["rejected"].value == 1
    assert materialization.metadata["inserted"].value == len(everything) - 1
    [contract] = [e for e in result.get_asset_check_evaluations() if e.check_name == "batch_matches_contract"]
    assert contract.passed
    if case in FINDING_3_CASES:
        # Finding 3: the parser and the contract suite agree on the value the sandbox served.
        assert payload[field] == value and not validate_records("kalshi_markets", [payload]).success


@pytest.mark.parametrize("case", STRANGE_TITLES)
def test_a_strange_but_valid_title_is_stored_verbatim_and_never_executed(
        case, fault_sandbox, kalshi_key, reference_warehouse_url, fully_loaded_template, dagster_instance):
    title = STRANGE_TITLES[case]
    target = _target(fault_sandbox)
    fault_sandbox.inject("malform", path=MARKETS_PATH, ticker=target, field="title", value=title)
    with connect(reference_warehouse_url, autocommit=True) as conn:
        tables = public_tables(conn)

    result = materialize([kalshi_markets], fault_resources(reference_warehouse_url, fault_sandbox, kalshi_key),
                         dagster_instance)

    assert result.success, failure_text(result)
    with connect(reference_warehouse_url, autocommit=True) as conn:
        assert conn.execute("SELECT title FROM markets_current WHERE ticker = %s", (target,)).fetchone() == (title,)
        assert public_tables(conn) == tables
    assert rejects(reference_warehouse_url) == []
    assert _versions_and_tickers(reference_warehouse_url) == _versions_and_tickers(fully_loaded_template.url)


# ---- Finding 3 of issue "Hardening": a blocking check failed after the write -------------------------

FINDING_3_CASES = ("negative_zero", "exponent", "leading_space", "small_exponent")
# The parser before the fix: it took these values (Decimal(value.strip()) reads all four), so the
# contract suite was the only line of defence. Here it stands in for any future parser/suite drift.
LENIENT_MARKETS = dataclasses.replace(
    MARKETS_INGESTION, parse=lambda raw: parse_market({**raw, **{f: "0.5000" for f in FINDING_3_FIELDS if f in raw
                                                                 and raw[f] in FINDING_3_VALUES}}))
FINDING_3_FIELDS = {BAD_VALUES[case][0] for case in FINDING_3_CASES}
FINDING_3_VALUES = {BAD_VALUES[case][1] for case in FINDING_3_CASES}


@dg.asset(name="kalshi_markets", check_specs=ingestion_check_specs("kalshi_markets"))
def lenient_kalshi_markets(context, warehouse: WarehouseResource,
                           kalshi: KalshiResource) -> dg.MaterializeResult:
    """The kalshi_markets asset's body with LENIENT_MARKETS as its ingestion spec."""
    with kalshi.client() as client:
        payloads = [p for series in kalshi.series for p in client.iter_market_payloads(series_ticker=series)]
    with warehouse.connection() as conn:
        report = ingest(conn, LENIENT_MARKETS, payloads, datetime.now(UTC), context.run.run_id)
    return ingestion_result("kalshi_markets", report, row_count=0, preview=[],
                            written=written_metadata(report.load.written if report.load else NOTHING_MERGED))


@pytest.mark.parametrize("case", FINDING_3_CASES)
def test_a_batch_failing_its_contract_on_a_loaded_warehouse_writes_nothing(
        case, fault_sandbox, kalshi_key, loaded_warehouse_url, dagster_instance):
    """Finding 3: with the sandbox serving "-0.0000" (or "1E+2", " 0.5000", "5E-1") and a parser
    that took it, the run failed on batch_matches_contract after `markets` had grown (34 -> 68).
    Now the contract runs before the merge: the run fails on its blocking check and every table
    is byte-for-byte unchanged, though the snapshot held new versions for every open market (the
    real asset stores them right after)."""
    field, value, _, _ = BAD_VALUES[case]
    fault_sandbox.advance(3 * 3600)  # games under way: prices moved, the merge has versions to write
    fault = fault_sandbox.inject("malform", path=MARKETS_PATH, ticker=_target(fault_sandbox), field=field, value=value)
    resources = fault_resources(loaded_warehouse_url, fault_sandbox, kalshi_key)
    before = warehouse_dump(loaded_warehouse_url)

    failed = materialize([lenient_kalshi_markets], resources, dagster_instance)

    assert fault.fired == 1 and not failed.success
    [contract] = [e for e in failed.get_asset_check_evaluations() if e.check_name == "batch_matches_contract"]
    assert not contract.passed and contract.metadata["expectations_failed"].value == 1
    assert warehouse_dump(loaded_warehouse_url) == before
    # The same snapshot, clean, through the real asset: it had new versions to write.
    stored = materialize([kalshi_markets], resources, dagster_instance)
    assert stored.success, failure_text(stored)
    assert stored.asset_materializations_for_node("kalshi_markets")[0].metadata["inserted"].value > 0
