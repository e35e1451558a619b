"""The state of the positions table after a run, as every materialization of `positions` reports
it (the positions asset, each exit and each settlement): the same keys every time, so the
latest materialization always tells the whole story and Dagster plots the numbers over time."""

from typing import Any

import dagster as dg
import psycopg

from precog_pipelines.core.metadata import markdown_table, plotted_amount
from precog_pipelines.lib.trading.marks import book, describe_age

OPEN_POSITIONS_SHOWN = 25


def book_metadata(conn: psycopg.Connection, trading_mode: str) -> dict[str, Any]:
    """Open positions with mark, unrealized P&L and age; exposure; realized P&L to date; counts
    by status: of the positions of ``trading_mode``, as they stand now."""
    state = book(conn, trading_mode)
    return {
        "open_positions": dg.MetadataValue.int(len(state.open)),
        "open_positions_table": markdown_table([{
            "position": r["position_key"], "ticker": r["ticker"], "side": r["side"], "quantity": r["quantity"],
            "entry": r["entry_price"], "mark": r["mark_price"] if r["mark_price"] is not None else "not yet",
            "unrealized_pnl": r["unrealized_pnl"], "age": describe_age(r["age"]),
            "strategy": f"{r['strategy']} v{r['strategy_version']}",
        } for r in state.open], limit=OPEN_POSITIONS_SHOWN),
        "unmarked_positions": dg.MetadataValue.int(state.unmarked),
        "exposure": plotted_amount(state.exposure),
        "unrealized_pnl": plotted_amount(state.unrealized_pnl),
        "realized_pnl_to_date": plotted_amount(state.realized_pnl_to_date),
        "positions_by_status": markdown_table([{"status": status, "positions": count}
                                               for status, count in state.by_status.items()]),
    }
