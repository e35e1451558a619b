"""Invariants of the closing lines, the evaluations and the backtests, as queries returning
the rows that break them (lib/quality's Violations: a count and a few examples). Each is named
for the property it checks and states it in its docstring: the asset check takes both."""

from __future__ import annotations

import psycopg
from psycopg import sql

from precog_pipelines.lib.quality.violations import Violations, find_violations


def _check(conn: psycopg.Connection, query: str, params: dict | None = None) -> Violations:
    return find_violations(conn, sql.SQL(query).format(**{k: sql.Literal(v) for k, v in (params or {}).items()}))


def every_line_matches_its_game(conn: psycopg.Connection) -> Violations:
    """Every closing line is linked to the games row of its day, season, home team and away team."""
    return _check(conn, """
        SELECT l.id, l.game_id, l.game_date, g.game_date AS game_day, l.season, g.season AS game_season
          FROM closing_lines l JOIN games g ON g.id = l.game_id
         WHERE (l.game_date, l.season, l.home_team_id, l.away_team_id)
               IS DISTINCT FROM (g.game_date, g.season, g.home_team_id, g.away_team_id)""")


def every_line_has_a_market_probability(conn: psycopg.Connection) -> Violations:
    """Every line has a home win probability under every spread-map version, favouring the side
    the line favours (0.5 for a pick'em)."""
    return _check(conn, """
        SELECT l.game_id, m.model_name || ':' || m.model_version AS market_model, l.home_spread,
               p.home_win_probability
          FROM closing_lines l
          JOIN games g ON g.id = l.game_id
          JOIN market_probability_models m ON m.league = g.league
          LEFT JOIN closing_line_probabilities p ON p.game_id = l.game_id AND p.market_model_id = m.id
         WHERE p.home_win_probability IS NULL
            OR sign(0.5 - p.home_win_probability) <> sign(l.home_spread)""")


def every_source_scores_every_line(conn: psycopg.Connection, first: int, last: int) -> Violations:
    """Every source (the market and each model version) is scored on exactly the season's games
    with a closing line."""
    return _check(conn, """
        SELECT e.season, e.source, e.games, coalesce(l.lines, 0) AS lines
          FROM model_evaluations e
          LEFT JOIN (SELECT season, count(*) AS lines FROM closing_lines GROUP BY season) l ON l.season = e.season
         WHERE e.season BETWEEN {first} AND {last} AND e.games <> coalesce(l.lines, 0)""", {"first": first, "last": last})


def scores_are_consistent(conn: psycopg.Connection, first: int, last: int) -> Violations:
    """The ten calibration bins add up to the games, and each model-minus-market difference is
    the difference of the stored scores."""
    return _check(conn, """
        SELECT e.season, e.source, e.games,
               (SELECT sum((b ->> 'games')::int) FROM jsonb_array_elements(e.calibration) b) AS binned,
               e.brier_minus_market, e.brier_score - m.brier_score AS difference
          FROM model_evaluations e
          JOIN model_evaluations m ON m.season = e.season AND m.market_model_id = e.market_model_id
                                  AND m.source = 'market'
         WHERE e.season BETWEEN {first} AND {last}
           AND ((SELECT sum((b ->> 'games')::int) FROM jsonb_array_elements(e.calibration) b) <> e.games
                OR jsonb_array_length(e.calibration) <> 10
                OR (e.source <> 'market' AND abs(e.brier_minus_market - (e.brier_score - m.brier_score)) > 1e-12)
                OR (e.source <> 'market' AND abs(e.log_loss_minus_market - (e.log_loss - m.log_loss)) > 1e-12))""",
        {"first": first, "last": last})


def totals_add_up(conn: psycopg.Connection) -> Violations:
    """Every backtest's trades, wins and P&L equal the sums of its trades and of its seasons, and
    its equity curve ends at its P&L."""
    return _check(conn, """
        SELECT r.id, r.trades, t.trades AS trade_rows, r.pnl, t.pnl AS trade_pnl, s.pnl AS season_pnl, t.last_equity
          FROM backtest_runs r
          LEFT JOIN LATERAL (SELECT count(*) AS trades, coalesce(sum(realized_pnl), 0) AS pnl,
                                    coalesce(sum(CASE WHEN realized_pnl > 0 THEN 1 ELSE 0 END), 0) AS wins,
                                    (array_agg(equity_after ORDER BY sequence DESC))[1] AS last_equity
                               FROM backtest_trades WHERE backtest_run_id = r.id) t ON true
          LEFT JOIN LATERAL (SELECT coalesce(sum(trades), 0) AS trades, coalesce(sum(pnl), 0) AS pnl
                               FROM backtest_seasons WHERE backtest_run_id = r.id) s ON true
         WHERE r.trades <> t.trades OR r.trades <> s.trades OR r.wins <> t.wins OR r.pnl <> t.pnl
            OR r.pnl <> s.pnl OR r.pnl <> coalesce(t.last_equity, 0)""")


def trades_meet_the_minimum_edge(conn: psycopg.Connection) -> Violations:
    """No backtest trade has an edge below its strategy's minimum: the strategy would not have
    bought it."""
    return _check(conn, """
        SELECT t.backtest_run_id, t.sequence, t.edge, (s.config ->> 'min_edge')::numeric AS min_edge
          FROM backtest_trades t
          JOIN backtest_runs r ON r.id = t.backtest_run_id
          JOIN strategies s ON s.id = r.strategy_id
         WHERE t.edge < (s.config ->> 'min_edge')::numeric""")
