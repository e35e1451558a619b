"""The shipped closing lines in PostgreSQL: every line joins its game, the market's probability
reads back as the computed number, a reload writes nothing; the spread map's versions are
immutable and the backtest tables append-only."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from psycopg import errors

from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.evaluation.closing_lines import load_closing_lines
from precog_pipelines.lib.evaluation.market_model import load_market_model
from precog_pipelines_tests.conftest import SHARED_NFL_DATA
from precog_pipelines_tests.support import factories as f


def test_every_shipped_line_joins_its_game_and_reloading_writes_nothing(warehouse_url):
    from precog_pipelines.lib.warehouse.server import connect

    with connect(warehouse_url) as conn:
        load = load_closing_lines(conn, GameSource())
        conn.commit()
        again = load_closing_lines(conn, GameSource())
        conn.commit()
        market = load_market_model(conn, "nfl")
        joined = conn.execute(
            "SELECT count(*), count(DISTINCT l.game_id) FROM closing_lines l JOIN games g ON g.id = l.game_id "
            "JOIN team_aliases h ON h.team_id = g.home_team_id AND h.source = 'fivethirtyeight' "
            "JOIN team_aliases a ON a.team_id = g.away_team_id AND a.source = 'fivethirtyeight' "
            "WHERE g.season = l.season AND g.game_date = l.game_date").fetchone()
        per_season = dict(conn.execute("SELECT season, count(*) FROM closing_lines GROUP BY season").fetchall())
        stored = {(r[0].isoformat(), r[1], r[2]): (r[3], r[4]) for r in conn.execute(
            "SELECT l.game_date, h.alias_code, a.alias_code, l.home_spread, p.home_win_probability "
            "FROM closing_lines l JOIN closing_line_probabilities p USING (game_id) "
            "JOIN team_aliases h ON h.team_id = l.home_team_id AND h.source = 'fivethirtyeight' "
            "JOIN team_aliases a ON a.team_id = l.away_team_id AND a.source = 'fivethirtyeight'")}

    with (SHARED_NFL_DATA / "closing_lines_1979_2025.csv").open() as handle:
        shipped = list(csv.DictReader(handle))
    assert (load.lines, load.inserted, load.updated, load.probabilities_written) == (11_649, 11_649, 0, 11_649)
    assert (again.inserted, again.updated, again.probabilities_written) == (0, 0, 0)
    assert joined == (11_649, 11_649)  # every line is one game, on its day, in its season
    assert per_season == Counter(int(row["season"]) for row in shipped)
    assert market.key == "spread_normal:1.0" and market.margin_sd == 13.4849
    for row in shipped[:200]:
        spread, probability = stored[(row["date"], row["team1"], row["team2"])]
        favourite_spread = float(row["spread_favorite"])
        home_spread = favourite_spread if row["favorite"] == row["team1"] else (
            -favourite_spread if row["favorite"] == row["team2"] else 0.0)
        assert float(spread) == home_spread
        # The stored decimal reads back as the very double the map computed.
        assert float(probability) == market.home_win_probability(home_spread)


def test_spread_map_versions_are_immutable(db):
    model = db.execute("SELECT id FROM market_probability_models WHERE model_name = 'spread_normal'").fetchone()[0]
    with pytest.raises(errors.RestrictViolation, match="immutable versions: only"):
        db.execute("UPDATE market_probability_models SET config = '{\"margin_sd\": 12}' WHERE id = %s", (model,))
    with pytest.raises(errors.RestrictViolation, match="DELETE is not allowed"):
        db.execute("DELETE FROM market_probability_models WHERE id = %s", (model,))
    db.execute("UPDATE market_probability_models SET is_active = false WHERE id = %s", (model,))


def test_backtest_results_are_append_only(db):
    strategy = db.execute("SELECT id FROM strategies WHERE strategy_name = 'default_paper' AND is_active").fetchone()[0]
    run = f.insert(db, "backtest_runs", {
        "strategy_id": strategy, "probability_model_id": f.model_id(db), "source": "warehouse", "first_season": 2025,
        "last_season": 2025, "code_version": "test", "inputs": "{}", "trades": 0, "wins": 0, "staked": 0, "fees": 0,
        "pnl": 0, "max_drawdown": 0, "started_at": f.NOW})
    f.insert(db, "backtest_seasons", {"backtest_run_id": run, "season": 2025, "trades": 0, "wins": 0, "staked": 0,
                                      "fees": 0, "pnl": 0, "max_drawdown": 0}, returning="season")
    for table, key in (("backtest_runs", "id"), ("backtest_seasons", "backtest_run_id")):
        with pytest.raises(errors.RestrictViolation, match=f"{table} is append-only: UPDATE"):
            db.execute(f"UPDATE {table} SET pnl = 1 WHERE {key} = %s", (run,))
        with pytest.raises(errors.RestrictViolation, match=f"{table} is append-only: DELETE"):
            db.execute(f"DELETE FROM {table} WHERE {key} = %s", (run,))
    with pytest.raises(errors.RestrictViolation, match="backtest_trades is append-only: TRUNCATE"):
        db.execute("TRUNCATE backtest_trades CASCADE")
    with pytest.raises(errors.CheckViolation):  # a lines backtest must say which market and spread it used
        f.insert(db, "backtest_runs", {
            "strategy_id": strategy, "probability_model_id": f.model_id(db), "source": "lines", "first_season": 2025,
            "last_season": 2025, "code_version": "test", "inputs": "{}", "trades": 0, "wins": 0, "staked": 0,
            "fees": 0, "pnl": 0, "max_drawdown": 0, "started_at": f.NOW})
