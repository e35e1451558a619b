"""Kalshi price history through Dagster: a day of candlesticks backfilled from the sandbox into
`market_candles`, equal to the candles the sandbox derives from its price paths, stored once
however often the day is re-run, and a bad candle quarantined with its field and value while the
rest of the day loads."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from precog_pipelines.defs.kalshi.assets import kalshi_candlesticks, kalshi_events, kalshi_series
from precog_pipelines.lib.ingest.kalshi_store import CANDLE_COLUMNS
from precog_pipelines.lib.kalshi import parse_candle
from precog_pipelines.lib.kalshi.candles import candle_record, candle_requests
from precog_pipelines.sandbox.candles import market_candles
from precog_pipelines.sandbox.world import NFL_SERIES
from precog_pipelines_tests.conftest import SANDBOX_START, sandbox_resources

DAY = SANDBOX_START.strftime("%Y-%m-%d")


@pytest.fixture
def resources(warehouse_url, sandbox, kalshi_key):
    resources = sandbox_resources(warehouse_url, sandbox, kalshi_key)
    assert dg.materialize([kalshi_series, kalshi_events], resources=resources).success
    sandbox.set_time(SANDBOX_START + timedelta(hours=8))  # every game of the day over and settled
    return resources


def _backfill(resources, instance) -> tuple[dg.ExecuteInProcessResult, dict]:
    result = dg.materialize([kalshi_candlesticks], resources=resources, instance=instance, partition_key=DAY)
    [materialization] = result.asset_materializations_for_node("kalshi_candlesticks")
    return result, {key: value.value for key, value in materialization.metadata.items()}


def _sandbox_candles(sandbox, resources) -> dict[tuple, tuple]:
    """Every candle the sandbox serves for the markets that closed on DAY, as rows."""
    expected = {}
    with resources["kalshi"].client() as client:
        for game in sandbox.describe_world()["games"]:
            for ticker in game["markets"].values():
                market = client.get_market(ticker)
                if market.close_time.strftime("%Y-%m-%d") != DAY or market.status != "finalized":
                    continue
                for request in candle_requests(NFL_SERIES, market):
                    for raw in market_candles(sandbox.world, sandbox.world.market_spec(ticker), request.period_interval,
                                              request.start_ts, request.end_ts, sandbox.now()):
                        candle = parse_candle(candle_record(market, request.period_interval, raw))
                        expected[(candle.ticker, candle.period_interval, candle.end_period_ts)] = tuple(
                            getattr(candle, column) for column in CANDLE_COLUMNS)
    return expected


def _stored(db) -> dict[tuple, tuple]:
    columns = ", ".join(CANDLE_COLUMNS)
    return {row[:3]: tuple(row) for row in db.execute(f"SELECT {columns} FROM market_candles")}


def test_a_day_backfills_the_sandbox_candles_once(resources, sandbox, dagster_instance, db):
    expected = _sandbox_candles(sandbox, resources)
    markets = {key[0] for key in expected}

    first, metadata = _backfill(resources, dagster_instance)

    assert first.success
    assert all(e.passed for e in first.get_asset_check_evaluations())
    assert _stored(db) == expected
    assert {key[1] for key in expected} == {1, 60}  # minute candles around the games, hourly before
    played = [g for g in sandbox.describe_world()["games"] if not g["postponed"]]
    assert metadata["markets"] == len(markets) == 2 * len(played)  # the postponed game's markets stay open
    assert metadata["requests"] == 1 + 2 * len(markets)  # one market list, two windows per market
    assert metadata["inserted"] == len(expected) and metadata["rejected"] == 0
    assert {r[0] for r in db.execute("SELECT ticker FROM market_tickers")} >= markets

    again, metadata = _backfill(resources, dagster_instance)

    assert again.success
    assert metadata["inserted"] == 0 and metadata["unchanged"] == len(expected)
    assert _stored(db) == expected


def test_a_bad_candle_is_quarantined_with_its_field_and_value_while_the_rest_load(
        resources, sandbox, dagster_instance, db):
    expected = _sandbox_candles(sandbox, resources)
    bad_ticker = sorted({key[0] for key in expected})[0]
    bad_key = min(key for key in expected if key[0] == bad_ticker and key[1] == 60)
    sandbox.inject("malform", path=f"*/markets/{bad_ticker}/candlesticks", count=1,
                   field="yes_bid.close_dollars", value="1.5")

    result, metadata = _backfill(resources, dagster_instance)

    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"batch_matches_contract": True, "no_rejected_rows": False}
    assert metadata["rejected"] == 1
    [(key, reason, payload)] = db.execute("SELECT business_key, reason, payload FROM ingestion_rejects").fetchall()
    assert key == f"{bad_ticker}/60/{int(bad_key[2].timestamp())}"
    assert "yes_bid.close_dollars" in reason and "'1.5'" in reason
    assert payload["yes_bid.close_dollars"] == "1.5"
    assert _stored(db) == {k: v for k, v in expected.items() if k != bad_key}


def test_a_range_of_days_backfills_in_one_run(resources, sandbox, dagster_instance, db):
    """The backfill policy runs up to seven days per run: the asset reads the whole time window."""
    expected = _sandbox_candles(sandbox, resources)

    result = dg.materialize([kalshi_candlesticks], resources=resources, instance=dagster_instance,
                            tags={"dagster/asset_partition_range_start": "2025-11-07",
                                  "dagster/asset_partition_range_end": "2025-11-10"})

    assert result.success
    materializations = result.asset_materializations_for_node("kalshi_candlesticks")
    assert sorted(m.partition for m in materializations) == ["2025-11-07", "2025-11-08", "2025-11-09", "2025-11-10"]
    assert materializations[0].metadata["days"].value == "2025-11-07..2025-11-11 (end excluded)"
    assert _stored(db) == expected  # the days around the Sunday closed no market
    assert kalshi_candlesticks.backfill_policy == dg.BackfillPolicy.multi_run(max_partitions_per_run=7)
