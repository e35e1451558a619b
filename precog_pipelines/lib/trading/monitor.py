"""What the exit sensor looks at: open positions with the price they could be sold at now, and
what each is worth at that price (its mark)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from precog_pipelines.lib.trading.exits import ExitSignal, OpenPosition, evaluate
from precog_pipelines.lib.trading.marks import Mark
from precog_pipelines.lib.trading.pnl import unrealized_pnl

# The highest bid of the held side in any market version alive since the position opened: the
# trailing stop's peak survives between sensor ticks without the sensor writing anything, and
# across the new version a partial exit writes.
_OPEN_POSITIONS = """
SELECT p.id, p.position_key, p.quantity, p.side, p.entry_price, p.stop_loss_price, p.target_price,
       p.trailing_stop_distance, p.peak_price, m.close_time,
       (s.config -> 'exit_rules' ->> 'exit_minutes_before_close')::integer,
       CASE p.side WHEN 'yes' THEN m.yes_bid ELSE m.no_bid END,
       (SELECT max(CASE p.side WHEN 'yes' THEN h.yes_bid ELSE h.no_bid END)
          FROM markets h
         WHERE h.ticker = p.ticker AND (h.row_end_ts IS NULL OR h.row_end_ts > p.opened_at)),
       EXISTS (SELECT 1 FROM position_exits x WHERE x.position_key = p.position_key),
       p.entry_fee, m.id, coalesce(e.fee_multiplier_override, r.fee_multiplier)
  FROM positions p
  JOIN markets m ON m.ticker = p.ticker AND m.row_current_ind
  JOIN strategies s ON s.id = p.strategy_id
  JOIN events e ON e.event_ticker = m.event_ticker
  JOIN series r ON r.ticker = e.series_ticker
 WHERE p.row_current_ind AND p.status = 'open' AND m.status = 'active' AND p.id > %(after_id)s
 ORDER BY p.id
 LIMIT %(limit)s
"""


@dataclass(frozen=True)
class ExitCandidate:
    position_id: int
    position_key: str
    signal: ExitSignal
    peak_price: Decimal
    quantity: Decimal  # contracts still held (less than bought after a partial exit)
    partly_exited: bool = False


@dataclass(frozen=True)
class ScanResult:
    candidates: list[ExitCandidate]
    scanned: int
    last_position_id: int | None
    # Every scanned position's mark, whether or not a rule fired.
    marks: list[Mark]


def scan_open_positions(conn: psycopg.Connection, now: datetime, after_id: int, limit: int) -> ScanResult:
    """Evaluate up to ``limit`` open positions with id above ``after_id`` against their market,
    and mark each at the bid of the side held."""
    rows = conn.execute(_OPEN_POSITIONS, {"after_id": after_id, "limit": limit}).fetchall()
    candidates, marks = [], []
    for (position_id, key, quantity, side, entry, stop, target, trailing, stored_peak, close_time, minutes_before_close,
         sell_price, peak_since, partly_exited, entry_fee, market_version_id, fee_multiplier) in rows:
        peaks = [p for p in (stored_peak, peak_since) if p is not None]
        position = OpenPosition(key, side, entry, stop, target, trailing, max(peaks) if peaks else None, close_time)
        peak, signal = evaluate(position, sell_price, now, minutes_before_close)
        if signal is not None:
            candidates.append(ExitCandidate(position_id, key, signal, peak, quantity, partly_exited))
        marks.append(Mark(key, position_id, sell_price, peak,
                          unrealized_pnl(quantity, entry, entry_fee, sell_price, fee_multiplier), market_version_id))
    return ScanResult(candidates, len(rows), rows[-1][0] if rows else None, marks)
