"""Storing an exchange account's fills and reconciling it with the ledger, at scale.

Usage: python bench/reconciliation.py [--positions 5000] [--fills-per-position 4]

Seeds a live ledger of N open positions (each with its entry trade) and the exchange tables that
agree with it (N positions, N orders, N x fills-per-position fills), then times: storing the fills
(COPY + INSERT ... ON CONFLICT DO NOTHING) the first time and again (nothing new), and one
reconciliation (which must find no difference). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _database import bench_database  # noqa: E402

from precog_pipelines.lib.kalshi.models import Fill, MarketPosition  # noqa: E402
from precog_pipelines.lib.portfolio.reconciliation import reconcile  # noqa: E402
from precog_pipelines.lib.portfolio.store import store_fills, store_positions  # noqa: E402
from precog_pipelines.lib.warehouse.server import connect  # noqa: E402

ACCOUNT = "kalshi:demo"
LEDGER = """
INSERT INTO series (ticker, title, fee_type, fee_multiplier) VALUES ('KXBENCH', 'Benchmark', 'quadratic', 0.07);
INSERT INTO events (event_ticker, series_ticker, title, mutually_exclusive)
    SELECT 'KXBENCH-' || i, 'KXBENCH', 'e', true FROM generate_series(1, %(n)s) i;
INSERT INTO market_tickers (ticker, event_ticker) SELECT 'KXBENCH-' || i || '-A', 'KXBENCH-' || i
    FROM generate_series(1, %(n)s) i;
INSERT INTO positions (position_key, strategy_id, ticker, side, trading_mode, status, quantity, entry_price,
                       opened_at, row_start_ts)
    SELECT 'bench-' || i, (SELECT max(id) FROM strategies WHERE strategy_name = 'default_paper'),
           'KXBENCH-' || i || '-A', 'yes', 'live', 'open', 10 * %(per)s, 0.55, now(), now()
    FROM generate_series(1, %(n)s) i;
INSERT INTO trades (position_key, position_id, strategy_id, ticker, trading_mode, purpose, side, action, book_side,
                    order_type, quantity, price, client_order_id, external_order_id, executed_at)
    SELECT position_key, id, strategy_id, ticker, 'live', 'entry', 'yes', 'buy', 'bid', 'limit', quantity, 0.55,
           'entry-' || position_key, 'order-' || position_key, now() FROM positions;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", type=int, default=5000)
    parser.add_argument("--fills-per-position", type=int, default=4)
    args = parser.parse_args()
    n, per = args.positions, args.fills_per_position
    now = datetime.now(UTC)
    fills = [Fill(f"fill-{i}-{k}", f"order-bench-{i}", f"KXBENCH-{i}-A", "yes", "bid", Decimal(10), Decimal("0.55"),
                  Decimal("0.45"), True, Decimal("0.17"), now) for i in range(1, n + 1) for k in range(per)]
    held = [MarketPosition(f"KXBENCH-{i}-A", Decimal(10 * per), Decimal("22"), Decimal("22"), Decimal(0),
                           Decimal("0.68"), now) for i in range(1, n + 1)]
    with bench_database("bench_reconciliation") as url, connect(url) as conn:
        for statement in LEDGER.split(";\n")[:-1]:
            conn.execute(statement, {"n": n, "per": per})
        store_positions(conn, ACCOUNT, held, now)
        conn.commit()
        timings = {}
        for label in ("store_fills_first_seconds", "store_fills_again_seconds"):
            started = time.perf_counter()
            read, new = store_fills(conn, ACCOUNT, fills)
            conn.commit()
            timings[label] = round(time.perf_counter() - started, 3)
            timings[label.replace("seconds", "new")] = new
        started = time.perf_counter()
        result = reconcile(conn, ACCOUNT, "live")
        conn.commit()
        timings["reconcile_seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps({"positions": n, "fills": len(fills), "differences": len(result.differences), **timings}))


if __name__ == "__main__":
    main()
