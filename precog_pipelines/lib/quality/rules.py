"""Domain rules of the warehouse tables, each one SQL query returning the rows that break it."""

from __future__ import annotations

import psycopg
from psycopg import sql

from precog_pipelines.lib.quality.violations import Violations, find_violations

_PRICES = ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price")
_CLOSED_STATUSES = "('closed', 'determined', 'disputed', 'amended', 'finalized')"


def _check(conn: psycopg.Connection, query: str) -> Violations:
    return find_violations(conn, sql.SQL(query))


def market_price_violations(conn: psycopg.Connection) -> Violations:
    """Market prices outside 0..1 or with more than four decimals."""
    broken = " OR ".join(f"NOT ({p} BETWEEN 0 AND 1) OR {p} <> round({p}, 4)" for p in _PRICES)
    return _check(conn, f"SELECT id, ticker, {', '.join(_PRICES)} FROM markets WHERE {broken}")


def market_crossed_book_violations(conn: psycopg.Connection) -> Violations:
    """Versions bidding above their ask (where an ask is resting; empty books show sentinels)."""
    return _check(conn, "SELECT id, ticker, yes_bid, yes_ask FROM markets WHERE yes_ask_size > 0 AND yes_bid > yes_ask")


def market_result_violations(conn: psycopg.Connection) -> Violations:
    """Determined, amended or finalized markets without a result."""
    return _check(conn, "SELECT id, ticker, status, result FROM markets "
                        "WHERE status IN ('determined', 'amended', 'finalized') AND result = ''")


def market_reopen_violations(conn: psycopg.Connection) -> Violations:
    """A market trading again after a version that showed it closed."""
    return _check(conn, f"""
        SELECT ticker, id, status, previous_status FROM (
            SELECT ticker, id, status, lag(status) OVER (PARTITION BY ticker ORDER BY row_start_ts, id) AS previous_status
            FROM markets) v
        WHERE previous_status IN {_CLOSED_STATUSES} AND status IN ('initialized', 'active', 'inactive')""")


_GAME_SUCCESSION = """
    SELECT external_game_id, id, state, completed, home_score, away_score, period, clock_seconds,
           lag(state) OVER w AS previous_state, lag(completed) OVER w AS previous_completed,
           lag(home_score) OVER w AS previous_home, lag(away_score) OVER w AS previous_away,
           lag(period) OVER w AS previous_period, lag(clock_seconds) OVER w AS previous_clock
    FROM game_states WINDOW w AS (PARTITION BY external_game_id ORDER BY row_start_ts, id)
"""


def final_score_change_violations(conn: psycopg.Connection) -> Violations:
    """A game's score changing after a version that showed it final."""
    return _check(conn, f"SELECT * FROM ({_GAME_SUCCESSION}) v WHERE previous_completed AND "
                        "(home_score, away_score) IS DISTINCT FROM (previous_home, previous_away)")


def score_decrease_violations(conn: psycopg.Connection) -> Violations:
    """A score lower than in the game's previous version."""
    return _check(conn, f"SELECT * FROM ({_GAME_SUCCESSION}) v "
                        "WHERE home_score < previous_home OR away_score < previous_away")


def clock_backwards_violations(conn: psycopg.Connection) -> Violations:
    """While a game is live, its period going back, or its clock going up within a period."""
    return _check(conn, f"SELECT * FROM ({_GAME_SUCCESSION}) v WHERE state = 'in' AND previous_state = 'in' AND "
                        "(period < previous_period OR (period = previous_period AND clock_seconds > previous_clock))")


def season_games_without_state_violations(conn: psycopg.Connection, first: int, last: int) -> Violations:
    """Games of the seasons that ESPN knows (an ESPN id) but that have no current state."""
    return find_violations(conn, sql.SQL(
        "SELECT g.id, g.external_game_id, g.season, g.game_date FROM games g "
        "WHERE g.external_game_id IS NOT NULL AND g.season BETWEEN {} AND {} AND NOT EXISTS "
        "(SELECT 1 FROM game_states s WHERE s.external_game_id = g.external_game_id AND s.row_current_ind)"
    ).format(sql.Literal(first), sql.Literal(last)))


def history_score_disagreement_violations(conn: psycopg.Connection, first: int, last: int) -> Violations:
    """Games of the seasons held by the history files whose final ESPN score differs from the
    files'. The teams may be designated home differently, so the two scores are compared as a
    pair in either order (a flipped winner with the same two scores goes unnoticed)."""
    return find_violations(conn, sql.SQL(
        "SELECT g.id, g.external_game_id, g.game_date, g.source, g.home_score AS file_home, "
        "g.away_score AS file_away, s.home_score AS espn_home, s.away_score AS espn_away "
        "FROM games g JOIN game_states s ON s.external_game_id = g.external_game_id AND s.row_current_ind "
        "WHERE g.source <> 'espn' AND s.completed AND g.season BETWEEN {} AND {} "
        "AND (least(g.home_score, g.away_score), greatest(g.home_score, g.away_score)) "
        "IS DISTINCT FROM (least(s.home_score, s.away_score), greatest(s.home_score, s.away_score))"
    ).format(sql.Literal(first), sql.Literal(last)))


def edge_probability_violations(conn: psycopg.Connection) -> Violations:
    """Model probabilities outside (0, 1)."""
    return _check(conn, "SELECT id, ticker, side, model_probability FROM edges "
                        "WHERE NOT (model_probability > 0 AND model_probability < 1)")


def edge_arithmetic_violations(conn: psycopg.Connection) -> Violations:
    """Edges that are not model probability minus price minus fee, to the cent."""
    return _check(conn, "SELECT id, ticker, side, model_probability, execution_price, fee_per_contract, edge FROM edges "
                        "WHERE abs(edge - (model_probability - execution_price - fee_per_contract)) >= 0.005")


def edge_game_violations(conn: psycopg.Connection) -> Violations:
    """Edges whose game is not in the warehouse."""
    return _check(conn, "SELECT e.id, e.ticker, e.game_id FROM edges e LEFT JOIN games g ON g.id = e.game_id "
                        "WHERE g.id IS NULL")


def position_market_violations(conn: psycopg.Connection) -> Violations:
    """Positions on a market the warehouse has no version of."""
    return _check(conn, "SELECT p.position_key, p.ticker FROM positions p WHERE p.row_current_ind AND NOT EXISTS "
                        "(SELECT 1 FROM markets m WHERE m.ticker = p.ticker)")


def table_row_count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
