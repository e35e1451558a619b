"""A backtest over the warehouse's recorded Kalshi history, through Dagster and the live
trading code: four sandbox markets whose prices the test scripts, one stopped out, one taking
its profit, one trailing-stopped after a rise, one held to settlement, each P&L worked out by
hand; and the live ledger, which holds an open position on one of those markets, is left
exactly as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import dagster as dg
import pytest
from psycopg.rows import dict_row

from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_series
from precog_pipelines.lib.ingest.espn_store import espn_team_ids, game_state_ingestion, scoreboard_events
from precog_pipelines.lib.ingest.kalshi_store import merge_markets
from precog_pipelines.lib.ingest.pipeline import ingest
from precog_pipelines.lib.kalshi import parse_market
from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.strategy import load_strategy
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.sandbox.world import NFL_SERIES
from precog_pipelines_tests.conftest import sandbox_resources
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.evaluation import materialization_metadata, materialize_evaluation

pytestmark = pytest.mark.slow
CENT = Decimal("0.01")
LEDGER = ("edges", "positions", "trades", "entry_orders", "entry_attempts", "exit_orders", "exit_attempts", "position_exits",
          "settlements", "account_balance", "risk_refusals", "trading_halts")


def _observe(resources: dict, url: str, at: datetime) -> None:
    """What ingestion stores when it polls at sandbox time ``at``: every market of the series
    and the scoreboard, versioned as of ``at`` (the assets stamp the wall clock instead)."""
    with resources["kalshi"].client() as kalshi, resources["espn"].client() as espn:
        markets = [parse_market(p) for p in kalshi.iter_market_payloads(series_ticker=NFL_SERIES)]
        board = espn.scoreboard_payload()
    with connect(url) as conn:
        merge_markets(conn, markets, at)
        report = ingest(conn, game_state_ingestion(espn_team_ids(conn)), scoreboard_events([board]), at, "test")
        assert report.stored, report.contract


def _ledger(url: str) -> dict[str, list]:
    with connect(url) as conn:
        return {t: [r[0] for r in conn.execute(f"SELECT to_jsonb(t) FROM {t} t ORDER BY id")] for t in LEDGER}


def _home_probabilities(url: str, world: list[dict]) -> dict[str, float]:
    """Each game's home win probability under elo_nfl v1.0 from the ratings after each team's
    last game before the sandbox's Sunday (same season: no reversion; home advantage 65)."""
    with connect(url) as conn:
        rating = dict(conn.execute(
            "SELECT DISTINCT ON (t.team_code) t.team_code, r.rating_after FROM elo_rating_history r "
            "JOIN teams t ON t.id = r.team_id JOIN probability_models m ON m.id = r.model_id "
            "WHERE m.model_version = '1.0' AND r.game_date < '2025-11-09' ORDER BY t.team_code, r.game_date DESC"))
    return {g["event_ticker"]: 1 / (1 + 10 ** (-(rating[g["home"]] - rating[g["away"]] + 65) / 400)) for g in world}


def _fee(contracts: Decimal, price: Decimal) -> Decimal:
    return (Decimal("0.07") * contracts * price * (1 - price)).quantize(CENT, rounding=ROUND_CEILING)


def _entry(ask: Decimal) -> tuple[Decimal, Decimal]:
    """(contracts, fee) of a 25-dollar stake at ``ask``, the fee per contract of a 100-contract order."""
    per_contract = (_fee(Decimal(100), ask) / 100).quantize(Decimal("0.0001"), rounding=ROUND_CEILING)
    quantity = (Decimal(25) / (ask + per_contract)).quantize(CENT, rounding=ROUND_FLOOR)
    return quantity, _fee(quantity, ask)


def test_backtest_replays_recorded_markets_through_the_live_code(rated_warehouse_url, dagster_instance, sandbox,
                                                                 kalshi_key):
    url = rated_warehouse_url
    resources = sandbox_resources(url, sandbox, kalshi_key)
    assert dg.materialize([kalshi_series, kalshi_events], resources=resources, instance=dagster_instance).success
    world = sandbox.describe_world()["games"]
    home_p = _home_probabilities(url, world)

    # Four games played at once; in each, the team the model prefers is offered at 20 cents
    # under the model's price (every other book is empty, so nothing else trades).
    chosen = {}
    for game in world[:4]:
        favourite = game["home"] if home_p[game["event_ticker"]] >= 0.5 else game["away"]
        p = home_p[game["event_ticker"]] if favourite == game["home"] else 1 - home_p[game["event_ticker"]]
        chosen[game["event_ticker"]] = (game, favourite, (Decimal(repr(p)) - Decimal("0.20")).quantize(
            CENT, rounding=ROUND_HALF_UP))
    held = {game["markets"][team]: ask for game, team, ask in chosen.values()}
    for game in world:
        for ticker in game["markets"].values():
            if ticker in held:
                sandbox.set_quotes(ticker, yes_bid=held[ticker] - CENT, yes_ask=held[ticker])
            else:
                sandbox.set_quotes(ticker, yes_bid="0.40", yes_ask="0.60", yes_bid_size="0", yes_ask_size="0")
    start = sandbox.now()
    _observe(resources, url, start)

    # Five minutes later, before any kickoff: the first falls through its stop, the second
    # reaches its target, the third rises a little and the fourth by 15 cents (no rule fires
    # for these two). Asks leave the book (0.99).
    (stopped, stopped_ask), (target, target_ask), (riding, riding_ask), (trailed, trailed_ask) = held.items()
    exits = {stopped: stopped_ask - Decimal("0.12"), target: target_ask + Decimal("0.21"),
             trailed: trailed_ask + Decimal("0.04")}
    for ticker, bid in ((stopped, exits[stopped]), (target, exits[target]), (riding, riding_ask + Decimal("0.05")),
                        (trailed, trailed_ask + Decimal("0.15"))):
        sandbox.set_quotes(ticker, yes_bid=bid, yes_ask="0.99")
    sandbox.set_time(start + timedelta(minutes=5))
    _observe(resources, url, sandbox.now())
    # Two minutes on, the fourth gives back 11 of its 15 cents: more than the 10-cent trailing stop.
    sandbox.set_quotes(trailed, yes_bid=exits[trailed], yes_ask="0.99")
    sandbox.set_time(start + timedelta(minutes=7))
    _observe(resources, url, sandbox.now())

    # The live ledger holds an open paper position on the market the backtest holds to the end.
    riding_game, riding_team, _ = next(c for c in chosen.values() if c[0]["markets"][c[1]] == riding)
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        edge_id = f.insert(conn, "edges", {
            "ticker": riding, "side": "yes", "model_id": f.model_id(conn),
            "market_version_id": conn.execute("SELECT id FROM markets_current WHERE ticker = %s", (riding,)).fetchone()[0],
            "game_id": conn.execute("SELECT id FROM games WHERE external_game_id = %s",
                                    (riding_game["espn_id"],)).fetchone()[0],
            "team_id": f.team_id(conn, riding_team), "model_probability": Decimal("0.70000000"),
            "execution_price": Decimal("0.5000"), "available_size": Decimal("100.00"),
            "fee_per_contract": Decimal("0.0175"), "edge": Decimal("0.1825"),
            "expected_value_per_dollar": Decimal("0.3527"), "calculation_run_id": "live"})
        edge = cursor.execute("SELECT * FROM edges WHERE id = %s", (edge_id,)).fetchone()
        ledger.open_position(conn, load_strategy(conn, name="default_paper"), edge,
                             ledger.Fill(Decimal("0.50"), Decimal("10"), Decimal("0.18"), "live-1", None, start),
                             "paper", ledger.PAPER_ACCOUNT, datetime.now(UTC))
        conn.commit()

    # Every game over and its markets finalized.
    sandbox.clear_quotes()
    last_final = max(datetime.fromisoformat(g["finalized_at"].replace("Z", "+00:00")) for g in world if g["finalized_at"])
    sandbox.set_time(last_final + timedelta(minutes=1))
    _observe(resources, url, sandbox.now())
    before = _ledger(url)

    result = materialize_evaluation(url, dagster_instance, "strategy_backtests", run_config={"ops": {
        "strategy_backtests": {"config": {"source": "warehouse", "seasons": "2025-2025"}}}})

    assert result.success, result.get_step_failure_events()
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert _ledger(url) == before  # not one row of the live ledger written, changed or removed

    expected = {}
    for ticker, ask in held.items():
        quantity, fee = _entry(ask)
        if ticker in exits:
            bid = exits[ticker]
            pnl = quantity * bid - _fee(quantity, bid) - (quantity * ask + fee)
            rule = {stopped: "stop_loss", target: "profit_target", trailed: "trailing_stop"}[ticker]
            expected[ticker] = (rule, quantity, ask, fee, bid, pnl)
        else:
            payout = Decimal(1) if riding_game["winner"] == riding_team else Decimal(0)
            expected[ticker] = ("settlement", quantity, ask, fee, payout, quantity * payout - (quantity * ask + fee))
    with connect(url) as conn:
        run = conn.execute("SELECT id, source, trades, wins, pnl, inputs FROM backtest_runs").fetchone()
        trades = {r[0]: r[1:] for r in conn.execute(
            "SELECT ticker, exit_reason, quantity, entry_price, entry_fee, exit_price, realized_pnl FROM backtest_trades "
            "WHERE backtest_run_id = %s", (run[0],))}
    assert trades == expected
    total = sum(e[-1] for e in expected.values())
    assert run[1:5] == ("warehouse", 4, sum(1 for e in expected.values() if e[-1] > 0), total)
    assert run[5]["still_open"] == 0 and run[5]["markets"] == 14 and run[5]["unfilled_exits"] == 0
    metadata = materialization_metadata(result, "strategy_backtests")
    assert f"| {run[0]} | default_paper:1.1 | elo_nfl:1.0 | warehouse | 2025-2025 | 4 |" in metadata["backtests"]


def test_the_backtest_session_refuses_to_run_unless_every_ledger_name_is_its_own(warehouse_url):
    from precog_pipelines.lib.backtest.point_in_time import IsolationError, verify_isolated

    with connect(warehouse_url) as conn, pytest.raises(IsolationError, match="would reach live relations: "
                                                                               "account_balance, account_balance_current"):
        verify_isolated(conn)

