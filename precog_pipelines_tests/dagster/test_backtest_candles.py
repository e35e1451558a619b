"""A warehouse backtest over markets the warehouse knows only from their candlesticks: a day
backfilled by `kalshi_candlesticks` (no `markets` version at all), replayed by
`strategy_backtests` through the live edge, opening, exit and settlement code. Every trade
enters at its side's ask in the candle alive at that moment and settles at the market's result."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest

from precog_pipelines.defs.kalshi.assets import kalshi_candlesticks, kalshi_events, kalshi_series
from precog_pipelines.lib.ingest.espn_store import espn_team_ids, game_state_ingestion, scoreboard_events
from precog_pipelines.lib.ingest.pipeline import ingest
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.conftest import SANDBOX_START, sandbox_resources
from precog_pipelines_tests.support.evaluation import materialize_evaluation

pytestmark = pytest.mark.slow

_CANDLE_AT = """
SELECT yes_bid_close, yes_ask_close, market_result, market_close_time FROM market_candles
 WHERE ticker = %s AND end_period_ts <= %s AND end_period_ts < market_close_time
 ORDER BY end_period_ts DESC, period_interval LIMIT 1
"""


def _observe_games(resources: dict, url: str, sandbox) -> None:
    """The scoreboard as ingestion stores it when it polls at sandbox time ``now``."""
    with resources["espn"].client() as espn:
        board = espn.scoreboard_payload()
    with connect(url) as conn:
        assert ingest(conn, game_state_ingestion(espn_team_ids(conn)), scoreboard_events([board]), sandbox.now(),
                      "test").stored


def test_a_backtest_replays_markets_known_only_from_candles(rated_warehouse_url, dagster_instance, sandbox, kalshi_key):
    url = rated_warehouse_url
    resources = sandbox_resources(url, sandbox, kalshi_key)
    assert dg.materialize([kalshi_series, kalshi_events], resources=resources, instance=dagster_instance).success
    _observe_games(resources, url, sandbox)  # before kickoff: the games are 'pre'
    kickoffs = sorted({datetime.fromisoformat(g["kickoff"].replace("Z", "+00:00"))
                       for g in sandbox.describe_world()["games"]})
    for kickoff in kickoffs:  # each game seen under way right after it started: the model is pre-game
        sandbox.set_time(kickoff + timedelta(minutes=1))
        _observe_games(resources, url, sandbox)
    sandbox.set_time(SANDBOX_START + timedelta(hours=8))
    _observe_games(resources, url, sandbox)  # every game but the postponed one over
    assert dg.materialize([kalshi_candlesticks], resources=resources, instance=dagster_instance,
                          partition_key=SANDBOX_START.strftime("%Y-%m-%d")).success

    result = materialize_evaluation(url, dagster_instance, "strategy_backtests", run_config={"ops": {
        "strategy_backtests": {"config": {"source": "warehouse", "seasons": "2025-2025"}}}})

    assert result.success, result.get_step_failure_events()
    with connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM markets").fetchone()[0] == 0  # never recorded as versions
        candle_markets = conn.execute("SELECT count(DISTINCT ticker) FROM market_candles").fetchone()[0]
        run_id, inputs = conn.execute("SELECT id, inputs FROM backtest_runs").fetchone()
        trades = conn.execute(
            "SELECT t.ticker, t.side, t.entry_price, t.opened_at, t.exit_reason, t.exit_price, t.closed_at, g.kickoff_ts "
            "FROM backtest_trades t JOIN games g ON g.id = t.game_id WHERE t.backtest_run_id = %s", (run_id,)).fetchall()
        assert inputs["markets"] == inputs["candle_markets"] == candle_markets == 12
        assert trades and inputs["still_open"] == 0
        for ticker, side, entry_price, opened_at, exit_reason, exit_price, closed_at, kickoff in trades:
            assert opened_at < kickoff, ticker
            bid, ask, market_result, close_time = conn.execute(_CANDLE_AT, (ticker, opened_at)).fetchone()
            assert entry_price == (ask if side == "yes" else 1 - bid), ticker
            if exit_reason == "settlement":
                assert exit_price == (Decimal(1) if market_result == side else Decimal(0))
                assert closed_at == close_time
            else:  # sold at its side's bid in the candle alive then
                bid, ask, _, _ = conn.execute(_CANDLE_AT, (ticker, closed_at)).fetchone()
                assert exit_price == (bid if side == "yes" else 1 - ask), ticker
