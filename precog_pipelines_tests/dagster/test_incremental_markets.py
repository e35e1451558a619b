"""Incremental market ticks and the daily full crawl, through Dagster, on the sandbox.

The sandbox counts, per market, the responses that carried it (``served_markets``): a tick that
makes "no request about" a market is one whose responses never included it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest

from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.kalshi.schedules import FULL_CRAWL_TAG, kalshi_markets_full_crawl_job
from precog_pipelines.lib.ingest.market_ticks import MARKETS_SOURCE
from precog_pipelines_tests.conftest import SANDBOX_START, sandbox_resources

REFERENCE = [kalshi_series, kalshi_events, kalshi_markets]
TICK_REQUESTS = 3  # min_close_ts=W, status=closed, status=settled&min_settled_ts=W: one page each here


@pytest.fixture
def resources(warehouse_url, sandbox, kalshi_key):
    return sandbox_resources(warehouse_url, sandbox, kalshi_key)


def _tick(resources, instance) -> dict:
    result = dg.materialize([kalshi_markets], resources=resources, instance=instance)
    assert result.success
    return _metadata(result)


def _metadata(result) -> dict:
    [materialization] = result.asset_materializations_for_node("kalshi_markets")
    return {key: value.value for key, value in materialization.metadata.items()}


def _watermark(db) -> datetime | None:
    row = db.execute("SELECT watermark_ts FROM ingestion_watermarks WHERE source = %s AND scope = 'KXNFLGAME'",
                     (MARKETS_SOURCE,)).fetchone()
    return row[0] if row else None


def _current(db, ticker: str) -> str:
    return db.execute("SELECT status FROM markets_current WHERE ticker = %s", (ticker,)).fetchone()[0]


def _first_game(sandbox) -> dict:
    return sandbox.describe_world()["games"][0]


def test_the_first_tick_without_a_watermark_crawls_everything_and_sets_it(resources, sandbox, dagster_instance, db):
    assert _watermark(db) is None

    first = dg.materialize(REFERENCE, resources=resources, instance=dagster_instance)
    tickers = {t for game in sandbox.describe_world()["games"] for t in game["markets"].values()}

    assert first.success
    metadata = _metadata(first)
    assert metadata["crawl"] == "full" and metadata["kalshi_requests"] == 1  # one unfiltered page
    assert "missed_by_ticks" not in metadata  # nothing to compare with before the first tick
    assert metadata["inserted"] == len(tickers)
    # The exchange's clock (the sandbox's frozen simulated time), not ours.
    assert _watermark(db) == SANDBOX_START
    sandbox.advance(600)
    second = _tick(resources, dagster_instance)
    assert second["crawl"] == "incremental"
    assert second["kalshi_requests"] == TICK_REQUESTS
    assert _watermark(db) == SANDBOX_START + timedelta(seconds=600)


def test_a_settled_market_is_fetched_by_one_tick_and_never_asked_about_again(
        resources, sandbox, dagster_instance, db):
    game = _first_game(sandbox)
    ticker = next(iter(game["markets"].values()))
    assert dg.materialize(REFERENCE, resources=resources, instance=dagster_instance).success
    assert _current(db, ticker) == "active"

    sandbox.set_time(datetime.fromisoformat(game["finalized_at"]) + timedelta(minutes=1))
    sandbox.reset_stats()
    settling = _tick(resources, dagster_instance)

    assert settling["crawl"] == "incremental"
    # Found by this tick: status=settled&min_settled_ts, and min_close_ts too (it closed inside the window).
    assert sandbox.served_markets().get(ticker) == 2
    assert _current(db, ticker) == "finalized"

    # The next tick looks back 5 minutes before the settling tick (the overlap), so it asks once more...
    sandbox.advance(15 * 60)
    sandbox.reset_stats()
    _tick(resources, dagster_instance)
    assert sandbox.served_markets().get(ticker) == 1
    # ...and every tick after that never again.
    for _ in range(2):
        sandbox.advance(15 * 60)
        sandbox.reset_stats()
        later = _tick(resources, dagster_instance)

        assert later["crawl"] == "incremental" and later["kalshi_requests"] == TICK_REQUESTS
        assert ticker not in sandbox.served_markets()
    assert _current(db, ticker) == "finalized"  # not fetched is not deleted: its version stays current
    assert db.execute("SELECT count(*) FROM markets WHERE ticker = %s AND row_current_ind", (ticker,)).fetchone()[0] == 1


def test_a_market_that_closed_before_the_window_is_still_followed_to_its_result(
        warehouse_url, sandbox, kalshi_key, dagster_instance, db):
    resources = sandbox_resources(warehouse_url, sandbox, kalshi_key, kalshi_options={"tick_overlap_minutes": 1})
    game = _first_game(sandbox)
    ticker = next(iter(game["markets"].values()))
    end = datetime.fromisoformat(game["end"])
    assert dg.materialize(REFERENCE, resources=resources, instance=dagster_instance).success
    sandbox.set_time(end + timedelta(seconds=90))
    _tick(resources, dagster_instance)
    assert _current(db, ticker) == "closed"

    # Determined two minutes after the end: its close time is now before the tick's window.
    sandbox.set_time(end + timedelta(seconds=150))
    sandbox.reset_stats()
    _tick(resources, dagster_instance)

    assert sandbox.served_markets().get(ticker) == 1  # by status=closed
    assert _current(db, ticker) == "determined"


def test_the_full_crawl_finds_and_reports_a_market_the_ticks_missed(resources, sandbox, dagster_instance, db):
    game = _first_game(sandbox)
    assert dg.materialize(REFERENCE, resources=resources, instance=dagster_instance).success
    sandbox.set_time(datetime.fromisoformat(game["finalized_at"]) + timedelta(minutes=1))
    missed = {t for g in sandbox.describe_world()["games"]
              if g["finalized_at"] and datetime.fromisoformat(g["finalized_at"]) <= sandbox.now()
              for t in g["markets"].values()}
    # A watermark moved past the settlement (a clock jump, a hand edit): ticks no longer ask for it.
    db.execute("UPDATE ingestion_watermarks SET watermark_ts = %s", (sandbox.now() + timedelta(hours=1),))

    sandbox.reset_stats()
    tick = _tick(resources, dagster_instance)
    assert tick["crawl"] == "incremental" and not missed & sandbox.served_markets().keys()
    assert {_current(db, t) for t in missed} == {"active"}

    definitions = dg.Definitions(assets=REFERENCE, jobs=[kalshi_markets_full_crawl_job], resources=resources)
    crawl = definitions.resolve_job_def("kalshi_markets_full_crawl").execute_in_process(instance=dagster_instance)

    assert crawl.success and crawl.dagster_run.tags[FULL_CRAWL_TAG] == "full"
    metadata = _metadata(crawl)
    assert metadata["crawl"] == "full"
    assert metadata["missed_by_ticks"] == len(missed) == 4  # two games end together
    assert set(metadata["missed_tickers"].split(", ")) == missed
    assert {_current(db, t) for t in missed} == {"finalized"}
    alert = db.execute("SELECT severity, component, details->>'missed' FROM alerts WHERE resolved_at IS NULL").fetchall()
    assert alert == [("warning", MARKETS_SOURCE, "4")]

    # The next full crawl finds the ticks complete again and resolves the alert.
    again = definitions.resolve_job_def("kalshi_markets_full_crawl").execute_in_process(instance=dagster_instance)
    assert _metadata(again)["missed_by_ticks"] == 0
    assert db.execute("SELECT count(*) FROM alerts WHERE resolved_at IS NULL").fetchone()[0] == 0


def test_a_full_crawl_that_finds_nothing_missed_reports_zero_and_raises_no_alert(
        resources, sandbox, dagster_instance, db):
    assert dg.materialize(REFERENCE, resources=resources, instance=dagster_instance).success
    game = _first_game(sandbox)
    sandbox.set_time(datetime.fromisoformat(game["finalized_at"]) + timedelta(minutes=1))
    _tick(resources, dagster_instance)  # the settlement is caught by the tick
    sandbox.advance(3600)

    crawl = dg.materialize([kalshi_markets], resources=resources, instance=dagster_instance,
                           run_config={"ops": {"kalshi_markets": {"config": {"full_crawl": True}}}})

    assert _metadata(crawl)["missed_by_ticks"] == 0
    assert db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
