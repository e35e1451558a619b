"""Domain rules of the warehouse tables, each one SQL query returning the rows that break it.

A rule is named for the property it checks and its docstring states that property: the asset
check built from it (``core.checks.rule_checks``) takes both as its name and description."""

from __future__ import annotations

import psycopg
from psycopg import sql

from precog_pipelines.lib.quality.violations import Violations, find_violations

_PRICES = ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price")
_CLOSED_STATUSES = "('closed', 'determined', 'disputed', 'amended', 'finalized')"


def _check(conn: psycopg.Connection, query: str) -> Violations:
    return find_violations(conn, sql.SQL(query))


def prices_within_unit_interval(conn: psycopg.Connection) -> Violations:
    """Every price is between 0 and 1 with at most four decimals."""
    broken = " OR ".join(f"NOT ({p} BETWEEN 0 AND 1) OR {p} <> round({p}, 4)" for p in _PRICES)
    return _check(conn, f"SELECT id, ticker, {', '.join(_PRICES)} FROM markets WHERE {broken}")


def yes_bid_not_above_yes_ask(conn: psycopg.Connection) -> Violations:
    """No version bids above its resting ask (an empty book shows sentinels)."""
    return _check(conn, "SELECT id, ticker, yes_bid, yes_ask FROM markets WHERE yes_ask_size > 0 AND yes_bid > yes_ask")


def determined_markets_have_a_result(conn: psycopg.Connection) -> Violations:
    """Determined, amended and finalized markets carry a result."""
    return _check(conn, "SELECT id, ticker, status, result FROM markets "
                        "WHERE status IN ('determined', 'amended', 'finalized') AND result = ''")


def closed_markets_do_not_reopen(conn: psycopg.Connection) -> Violations:
    """A market never trades again after a version showed it closed."""
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


def final_scores_never_change(conn: psycopg.Connection) -> Violations:
    """A game's score never changes after a version showed it final."""
    return _check(conn, f"SELECT * FROM ({_GAME_SUCCESSION}) v WHERE previous_completed AND "
                        "(home_score, away_score) IS DISTINCT FROM (previous_home, previous_away)")


def scores_never_decrease(conn: psycopg.Connection) -> Violations:
    """Scores never go down within a game."""
    return _check(conn, f"SELECT * FROM ({_GAME_SUCCESSION}) v "
                        "WHERE home_score < previous_home OR away_score < previous_away")


def period_and_clock_move_forward(conn: psycopg.Connection) -> Violations:
    """While a game is live its period never goes back and its clock never goes up within a period."""
    return _check(conn, f"SELECT * FROM ({_GAME_SUCCESSION}) v WHERE state = 'in' AND previous_state = 'in' AND "
                        "(period < previous_period OR (period = previous_period AND clock_seconds > previous_clock))")


def every_game_has_a_current_state(conn: psycopg.Connection, first: int, last: int) -> Violations:
    """Every game of the seasons that carries an ESPN id has a current version in game_states."""
    return find_violations(conn, sql.SQL(
        "SELECT g.id, g.external_game_id, g.season, g.game_date FROM games g "
        "WHERE g.external_game_id IS NOT NULL AND g.season BETWEEN {} AND {} AND NOT EXISTS "
        "(SELECT 1 FROM game_states s WHERE s.external_game_id = g.external_game_id AND s.row_current_ind)"
    ).format(sql.Literal(first), sql.Literal(last)))


def espn_finals_agree_with_history(conn: psycopg.Connection, first: int, last: int) -> Violations:
    """Where the shipped history and ESPN both hold a game, ESPN's final score is the files' (the
    files' result is the one rated; a difference is worth a look). The teams may be designated
    home differently, so the scores are compared as a pair in either order."""
    return find_violations(conn, sql.SQL(
        "SELECT g.id, g.external_game_id, g.game_date, g.source, g.home_score AS file_home, "
        "g.away_score AS file_away, s.home_score AS espn_home, s.away_score AS espn_away "
        "FROM games g JOIN game_states s ON s.external_game_id = g.external_game_id AND s.row_current_ind "
        "WHERE g.source <> 'espn' AND s.completed AND g.season BETWEEN {} AND {} "
        "AND (least(g.home_score, g.away_score), greatest(g.home_score, g.away_score)) "
        "IS DISTINCT FROM (least(s.home_score, s.away_score), greatest(s.home_score, s.away_score))"
    ).format(sql.Literal(first), sql.Literal(last)))


def probabilities_strictly_between_0_and_1(conn: psycopg.Connection) -> Violations:
    """Every model probability is in (0, 1)."""
    return _check(conn, "SELECT id, ticker, side, model_probability FROM edges "
                        "WHERE NOT (model_probability > 0 AND model_probability < 1)")


def edge_is_probability_minus_price_minus_fee(conn: psycopg.Connection) -> Violations:
    """Every edge equals the model probability minus the price minus the fee, to the cent."""
    return _check(conn, "SELECT id, ticker, side, model_probability, execution_price, fee_per_contract, edge FROM edges "
                        "WHERE abs(edge - (model_probability - execution_price - fee_per_contract)) >= 0.005")


def every_edge_game_exists(conn: psycopg.Connection) -> Violations:
    """Every edge refers to a game in the warehouse."""
    return _check(conn, "SELECT e.id, e.ticker, e.game_id FROM edges e LEFT JOIN games g ON g.id = e.game_id "
                        "WHERE g.id IS NULL")


def every_position_market_exists(conn: psycopg.Connection) -> Violations:
    """Every position's market is in the warehouse."""
    return _check(conn, "SELECT p.position_key, p.ticker FROM positions p WHERE p.row_current_ind AND NOT EXISTS "
                        "(SELECT 1 FROM markets m WHERE m.ticker = p.ticker)")


def paper_balance_follows_the_ledger(conn: psycopg.Connection) -> Violations:
    """The paper account's balance is its initial cash, less every paper entry (cost and fee),
    plus every paper exit fill (proceeds less fee) and every settlement payout (the contracts no
    exit sold, at the settlement value of the side held), to the cent."""
    # One statement: one snapshot of the balance and the ledger, which change together.
    return _check(conn, """
        SELECT b.account_key, b.balance, i.balance + t.cash + s.payouts AS ledger_balance
        FROM account_balance b
        CROSS JOIN LATERAL (SELECT balance FROM account_balance f WHERE f.account_key = b.account_key
                            AND f.change_reason = 'initial' ORDER BY f.row_start_ts LIMIT 1) i
        CROSS JOIN (SELECT coalesce(sum(CASE purpose WHEN 'entry' THEN -(quantity * price + fee)
                                    ELSE quantity * price - fee END), 0) AS cash
                    FROM trades WHERE trading_mode = 'paper') t
        CROSS JOIN (SELECT coalesce(sum((p.quantity - coalesce(x.sold, 0))
                                        * CASE p.side WHEN 'yes' THEN m.settlement_value
                                                      ELSE 1 - m.settlement_value END), 0) AS payouts
                    FROM positions p
                    JOIN settlements m ON m.ticker = p.ticker
                    LEFT JOIN (SELECT position_key, sum(quantity) AS sold FROM position_exits
                               GROUP BY position_key) x ON x.position_key = p.position_key
                    WHERE p.row_current_ind AND p.status = 'settled' AND p.trading_mode = 'paper') s
        WHERE b.row_current_ind AND b.trading_mode = 'paper' AND b.balance <> i.balance + t.cash + s.payouts""")
def position_exits_add_up(conn: psycopg.Connection) -> Violations:
    """A position's exit fills account for it: an open position holds what it bought less what
    its exits sold, and a closed one sold all it bought, its realized P&L the sum of its exits."""
    return _check(conn, """
        SELECT p.position_key, p.status, p.quantity, first.quantity AS bought, x.sold, p.realized_pnl, x.realized
          FROM positions p
          JOIN LATERAL (SELECT f.quantity FROM positions f WHERE f.position_key = p.position_key
                         ORDER BY f.id LIMIT 1) first ON true
          LEFT JOIN (SELECT position_key, sum(quantity) AS sold, sum(realized_pnl) AS realized
                       FROM position_exits GROUP BY position_key) x ON x.position_key = p.position_key
         WHERE p.row_current_ind AND (
               (p.status = 'open' AND p.quantity + coalesce(x.sold, 0) <> first.quantity)
            OR (p.status = 'closed' AND (x.sold IS DISTINCT FROM p.quantity
                                          OR x.realized IS DISTINCT FROM p.realized_pnl))
            OR (p.status = 'settled' AND coalesce(x.sold, 0) >= p.quantity))""")


# position_exit_sensor marks every open position every 30 seconds; a version older than this and
# still unmarked means the sensor is not running (or cannot store marks): exits are not watched.
MARK_GRACE_MINUTES = 5


def every_open_position_is_marked(conn: psycopg.Connection) -> Violations:
    """Every open position is marked: each current open version older than 5 minutes has a
    mark in position_marks. One that has none means position_exit_sensor is stopped or cannot
    store marks, and then no exit rule is watching that position either."""
    return _check(conn, f"""
        SELECT p.position_key, p.ticker, p.trading_mode, p.row_start_ts AS open_since
          FROM positions p
         WHERE p.row_current_ind AND p.status = 'open'
           AND p.row_start_ts < now() - interval '{MARK_GRACE_MINUTES} minutes'
           AND NOT EXISTS (SELECT FROM position_marks m WHERE m.position_id = p.id)""")


def table_row_count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
