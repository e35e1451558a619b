"""Circuit breakers: conditions that halt trading on their own, each with its reason.

Each breaker is a plain function run in the caller's transaction; it records a halt
(lib/trading/halts.py, which also raises the critical alert) when its condition holds, and
returns the state it left. A breaker finding trading already halted adds nothing (the first
reason stands), and only a person resumes (`precog trading resume`).

- order errors: the last N order attempts, entries (``entry_attempts``) and exits
  (``exit_attempts``) together, all failed, with no successful one and no resume since;
- stale market data: no new market version for a while (lib/ingest/freshness.py, the same test
  the stall alert uses) while positions are open;
- reconciliation mismatch: called by the reconciliation (issue 13) when the ledger and the
  exchange disagree.

The daily loss breaker lives with the risk limits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from precog_pipelines.lib.ingest.freshness import market_data_stall
from precog_pipelines.lib.settings import setting
from precog_pipelines.lib.trading.halts import TradingState, halt_trading, trading_state

# The registry's defaults (lib/settings.py); the resources pass the configured values.
DEFAULT_MAX_ORDER_ERRORS = int(setting("PRECOG_HALT_AFTER_ORDER_ERRORS").default)
DEFAULT_STALE_MARKET_MINUTES = int(setting("PRECOG_HALT_STALE_MARKET_MINUTES").default)

# An order attempt counts as an error when the request itself failed (the exchange answered an
# error, or nothing at all); an order that reached the book and filled nothing is not an error.
_CONSECUTIVE_ERRORS = """
WITH attempts AS (
    SELECT attempted_at, outcome FROM entry_attempts
    UNION ALL
    SELECT attempted_at, outcome FROM exit_attempts
), since AS (
    -- Errors before the last success, or before a person resumed trading, no longer count.
    SELECT greatest(
        (SELECT max(attempted_at) FROM attempts WHERE outcome <> 'error'),
        (SELECT max(created_at) FROM trading_halts WHERE action = 'resume'),
        '-infinity'::timestamptz) AS ts
)
SELECT count(*) FROM attempts, since WHERE outcome = 'error' AND attempted_at > since.ts
"""


def consecutive_order_errors(conn: psycopg.Connection) -> int:
    """Failed order attempts (entries and exits) since the last one that reached the exchange,
    or since trading was last resumed."""
    return conn.execute(_CONSECUTIVE_ERRORS).fetchone()[0]


def trip_on_order_errors(conn: psycopg.Connection, limit: int, actor: str) -> TradingState:
    """Halt when the last ``limit`` order attempts all failed (call it after recording a failed
    attempt, in the same or a later transaction). Exits go on: an exit that keeps failing halts
    entries, and its own retries are the exit job's to make."""
    if limit < 1:
        raise ValueError(f"the order error limit must be 1 or more, got {limit}")
    errors = consecutive_order_errors(conn)
    if errors < limit:
        return trading_state(conn)
    last = conn.execute(
        "SELECT error_message FROM (SELECT attempted_at, error_message FROM entry_attempts WHERE outcome = 'error' "
        "UNION ALL SELECT attempted_at, error_message FROM exit_attempts WHERE outcome = 'error') a "
        "ORDER BY attempted_at DESC LIMIT 1").fetchone()
    return halt_trading(conn, f"{errors} consecutive order errors (limit {limit}); last: {last[0] if last else '?'}",
                        "order_errors", actor, details={"consecutive_errors": errors, "limit": limit})


def open_position_count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM positions WHERE row_current_ind AND status = 'open'").fetchone()[0]


def trip_on_stale_market_data(conn: psycopg.Connection, now: datetime, stale_minutes: int,
                              actor: str) -> TradingState:
    """Halt when market data has stalled for ``stale_minutes`` (no new market version while
    markets are open) and positions are open: their exit rules are watching prices that no
    longer move, and new entries would price off an old book."""
    positions = open_position_count(conn)
    if not positions:
        return trading_state(conn)
    stall = market_data_stall(conn, now, stale_minutes)
    if stall is None:
        return trading_state(conn)
    return halt_trading(
        conn, f"{stall.message}; {positions} position(s) open", "stale_market_data", actor,
        details={"last_version_at": stall.last_version_at.isoformat() if stall.last_version_at else None,
                 "open_markets": stall.open_markets, "stale_minutes": stale_minutes, "open_positions": positions})


def halt_on_reconciliation_mismatch(conn: psycopg.Connection, summary: str, details: dict[str, Any] | None = None,
                                    *, actor: str = "reconciliation", blocks_exits: bool = False) -> TradingState:
    """Halt because the ledger and the exchange disagree (for the reconciliation of issue 13 to
    call with a one-line summary, e.g. "3 fills on the exchange are not in trades"). Pass
    ``blocks_exits=True`` when the mismatch is about what we hold: selling contracts the ledger
    believes in but the exchange does not would make it worse."""
    return halt_trading(conn, f"reconciliation mismatch: {summary}", "reconciliation", actor,
                        blocks_exits=blocks_exits, details=details)
