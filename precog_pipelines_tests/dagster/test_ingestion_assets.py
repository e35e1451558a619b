"""Kalshi and ESPN ingestion through Dagster, against the sandbox and real PostgreSQL."""

from __future__ import annotations

import dagster as dg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.trading.assets import account_balance
from precog_pipelines.lib.quality import scd2_invariants as quality
from precog_pipelines.lib.warehouse.tables import GAME_STATES, MARKETS
from precog_pipelines.resources.sources import KalshiResource
from precog_pipelines.resources.trading import TradingResource
from precog_pipelines_tests.conftest import sandbox_resources, write_private_key

INGESTION = [kalshi_series, kalshi_events, kalshi_markets, game_states]


@pytest.fixture
def resources(warehouse_url, sandbox, kalshi_key):
    return sandbox_resources(warehouse_url, sandbox, kalshi_key)


def _run(assets, resources, instance, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, resources=resources, instance=instance, **kwargs)


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    [materialization] = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in materialization.metadata.items()}


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}


def _count(db, query: str) -> int:
    return db.execute(query).fetchone()[0]


def test_two_snapshots_build_market_and_game_history(resources, sandbox, dagster_instance, db):
    world = sandbox.describe_world()
    tickers = {t for game in world["games"] for t in game["markets"].values()}

    first = _run(INGESTION, resources, dagster_instance)

    assert first.success
    assert all(_checks(first).values()), _checks(first)
    assert _count(db, "SELECT count(*) FROM series") == 1
    assert _count(db, "SELECT count(*) FROM events") == len(world["games"])
    assert {r[0] for r in db.execute("SELECT ticker FROM markets_current")} == tickers
    assert _metadata(first, "kalshi_markets")["inserted"] == len(tickers)
    scheduled = [g for g in world["games"] if not g["postponed"]]
    assert _count(db, "SELECT count(*) FROM game_states_current WHERE state = 'pre'") == len(scheduled)
    assert _count(db, "SELECT count(*) FROM games WHERE source = 'espn'") == len(world["games"])

    sandbox.advance(2 * 3600)  # every game is under way: prices and scores have moved
    second = _run([kalshi_markets, game_states], resources, dagster_instance)

    assert second.success
    markets = _metadata(second, "kalshi_markets")
    assert markets["closed"] > 0 and markets["inserted"] == markets["closed"] and markets["new_tickers"] == 0
    assert _count(db, "SELECT count(*) FROM markets") == len(tickers) + markets["closed"]
    assert _count(db, "SELECT count(*) FROM game_states_current WHERE state = 'in'") >= 1
    for table in (MARKETS, GAME_STATES):
        for rule in (quality.current_row_count_violations(db, table), quality.validity_violations(db, table),
                     quality.overlap_violations(db, table), quality.gap_violations(db, table)):
            assert rule.passed, (table.name, rule.samples)
    # The closed version ends exactly where its successor starts.
    assert _count(db, "SELECT count(*) FROM markets old JOIN markets new ON new.ticker = old.ticker "
                      "AND new.row_start_ts = old.row_end_ts") == markets["closed"]


def test_games_finish_markets_settle_and_final_scores_are_kept(resources, sandbox, dagster_instance, db):
    _run(INGESTION, resources, dagster_instance)
    sandbox.advance(8 * 3600)  # past every game's finalization

    assert _run([kalshi_markets, game_states], resources, dagster_instance).success

    played = [g for g in sandbox.describe_world()["games"] if not g["postponed"]]
    finals = db.execute("SELECT g.external_game_id, g.home_score, g.away_score FROM games g "
                        "JOIN game_states_current s USING (external_game_id) WHERE s.completed").fetchall()
    assert {(g, h, a) for g, h, a in finals} == {
        (g["espn_id"], g["final_score"]["home"], g["final_score"]["away"]) for g in played}
    results = dict(db.execute("SELECT ticker, result FROM markets_current WHERE status = 'finalized'").fetchall())
    for game in played:
        for team, ticker in game["markets"].items():
            assert results[ticker] == ("yes" if team == game["winner"] else "no")
    assert _count(db, "SELECT count(*) FROM game_states_current WHERE status_name = 'STATUS_POSTPONED' "
                      "AND NOT completed") == 1


def test_unchanged_snapshot_writes_no_rows(resources, sandbox, dagster_instance, db):
    _run(INGESTION, resources, dagster_instance)
    versions = _count(db, "SELECT count(*) FROM markets") + _count(db, "SELECT count(*) FROM game_states")

    again = _run([kalshi_markets, game_states], resources, dagster_instance)

    assert _metadata(again, "kalshi_markets")["inserted"] == 0
    assert _count(db, "SELECT count(*) FROM markets") + _count(db, "SELECT count(*) FROM game_states") == versions


def test_injected_429s_and_5xx_are_retried_and_nothing_is_lost(resources, sandbox, dagster_instance, db):
    sandbox.inject("rate_limit", path="*/markets*", count=3)
    sandbox.inject("server_error", path="*/markets*", count=2, status=503)
    sandbox.inject("server_error", path="*/scoreboard*", count=2, status=500)

    result = _run(INGESTION, resources, dagster_instance)

    assert result.success
    expected = sum(len(g["markets"]) for g in sandbox.describe_world()["games"])
    assert _count(db, "SELECT count(*) FROM markets_current") == expected
    assert _count(db, "SELECT count(*) FROM ingestion_rejects") == 0
    stats = sandbox.stats()
    assert (stats["fault_rate_limit"], stats["fault_server_error"]) == (3, 4), stats


def test_malformed_markets_are_quarantined_while_the_rest_load(resources, sandbox, dagster_instance, db):
    world = sandbox.describe_world()
    bad = world["games"][0]["markets"][world["games"][0]["home"]]
    sandbox.inject("malform", path="*/markets", count=5, ticker=bad, field="yes_bid_dollars", value="abc")

    result = _run(INGESTION, resources, dagster_instance)

    assert result.success
    checks = _checks(result)
    assert checks[("kalshi_markets", "batch_matches_contract")] is True
    assert checks[("kalshi_markets", "no_rejected_rows")] is False
    assert _metadata(result, "kalshi_markets")["rejected"] == 1
    [(key, reason, payload)] = db.execute("SELECT business_key, reason, payload FROM ingestion_rejects").fetchall()
    assert key == bad and "yes_bid_dollars" in reason and "abc" in reason
    assert payload["yes_bid_dollars"] == "abc"
    loaded = {r[0] for r in db.execute("SELECT ticker FROM markets_current")}
    assert bad not in loaded and len(loaded) == sum(len(g["markets"]) for g in world["games"]) - 1


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("competitions.0.competitors.0.score", "99999999999", "score is above 2147483647 (got '99999999999')"),
    ("competitions.0.status.period", 40000, "status.period is above 32767 (got 40000)"),
    ("week.number", 99, "week.number is above 30 (got 99)"),
])
def test_an_out_of_range_espn_value_costs_one_game_and_the_rest_load(
        resources, sandbox, dagster_instance, db, field, value, reason):
    world = sandbox.describe_world()
    bad = world["games"][0]["espn_id"]
    sandbox.inject("malform", path="*/scoreboard", count=5, ticker=bad, field=field, value=value)

    result = _run([game_states], resources, dagster_instance)

    assert result.success
    [(key, stored_reason)] = db.execute("SELECT business_key, reason FROM ingestion_rejects").fetchall()
    assert key == bad and reason in stored_reason
    loaded = {r[0] for r in db.execute("SELECT external_game_id FROM game_states_current")}
    assert loaded == {g["espn_id"] for g in world["games"]} - {bad}


def test_live_balance_sync_is_signed_and_a_bad_signature_is_a_clear_error(
        resources, sandbox, kalshi_key, dagster_instance, db, tmp_path):
    live = resources | {"trading": TradingResource(trading_mode="live", kalshi=resources["kalshi"])}
    assert _run([account_balance], live, dagster_instance).success
    assert db.execute("SELECT balance, change_reason FROM account_balance_current "
                      "WHERE account_key = 'kalshi:demo'").fetchone() == (1000, "exchange_sync")

    wrong = write_private_key(tmp_path / "wrong.pem", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    wrongly_signed = KalshiResource(base_url=sandbox.kalshi_base_url, api_key_id=kalshi_key.key_id,
                                    private_key_path=str(wrong), retry_max_total_seconds=5.0)
    forged = live | {"kalshi": wrongly_signed, "trading": TradingResource(trading_mode="live", kalshi=wrongly_signed)}
    result = _run([account_balance], forged, dagster_instance, raise_on_error=False)

    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error, messages = failure.step_failure_data.error, []
    while error is not None:
        messages.append(f"{error.cls_name}: {error.message}")
        error = error.cause
    message = "\n".join(messages)
    assert "KalshiAuthError" in message, message
    assert "KALSHI_API_KEY_ID" in message and "KALSHI_PRIVATE_KEY_PATH" in message
    assert "BEGIN" not in message
