"""One tick of position_exit_sensor over 10,000 open positions.

Usage: python bench/exit_sensor.py [--positions 10000] [--ticks 5]

Prints one JSON object: seconds per tick (each tick is the real sensor evaluated through
Dagster's build_sensor_context against PostgreSQL), the run requests it produced, and the marks
it stored (every position on the first tick, none after: the prices do not move).
Target: under 1 second per tick (Dagster cancels a tick after 60).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _database import bench_database  # noqa: E402

from precog_pipelines.defs.trading.sensors import position_exit_sensor  # noqa: E402
from precog_pipelines.lib.warehouse.server import connect  # noqa: E402
from precog_pipelines.resources.sources import KalshiResource  # noqa: E402
from precog_pipelines.resources.trading import TradingResource  # noqa: E402
from precog_pipelines.resources.warehouse import WarehouseResource  # noqa: E402

SETUP = """
INSERT INTO series (ticker, title, fee_type, fee_multiplier) VALUES ('KXBENCH', 'Benchmark', 'quadratic', 0.07);
INSERT INTO events (event_ticker, series_ticker, title, mutually_exclusive)
    SELECT 'KXBENCH-' || i, 'KXBENCH', 'e', true FROM generate_series(1, %(n)s) i;
INSERT INTO market_tickers (ticker, event_ticker) SELECT 'KXBENCH-' || i || '-A', 'KXBENCH-' || i
    FROM generate_series(1, %(n)s) i;
-- Every market has three versions of history; one in ten now bids below its position's stop.
INSERT INTO markets (ticker, event_ticker, market_type, status, yes_bid, yes_ask, no_bid, no_ask, last_price,
                     yes_bid_size, yes_ask_size, volume, volume_24h, open_interest, notional_value, open_time,
                     close_time, row_current_ind, row_start_ts, row_end_ts)
    SELECT 'KXBENCH-' || i || '-A', 'KXBENCH-' || i, 'binary', 'active',
           CASE WHEN v = 3 AND i %% 10 = 0 THEN 0.40 ELSE 0.50 + v * 0.01 END, 0.60, 0.40, 0.50, 0.55,
           100, 100, 0, 0, 0, 1, now() - interval '1 day', now() + interval '30 days',
           v = 3, now() - (4 - v) * interval '1 hour', CASE WHEN v < 3 THEN now() - (3 - v) * interval '1 hour' END
    FROM generate_series(1, %(n)s) i CROSS JOIN generate_series(1, 3) v;
INSERT INTO positions (position_key, strategy_id, ticker, side, trading_mode, status, quantity, entry_price,
                       entry_fee, target_price, stop_loss_price, trailing_stop_distance, peak_price, opened_at,
                       row_start_ts)
    SELECT 'bench-' || i, (SELECT max(id) FROM strategies WHERE strategy_name = 'default_paper'),
           'KXBENCH-' || i || '-A', 'yes', 'paper', 'open', 10, 0.55, 0.18, 0.75, 0.45, 0.10, 0.55,
           now() - interval '3 hours', now() - interval '3 hours'
    FROM generate_series(1, %(n)s) i;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()
    with bench_database("precog_bench_exit_sensor") as url:
        with connect(url) as conn:
            for statement in filter(str.strip, SETUP.split(";\n")):
                conn.execute(statement, {"n": args.positions})
            conn.commit()
        kalshi = KalshiResource()
        resources = {"warehouse": WarehouseResource(database_url=url), "trading": TradingResource(kalshi=kalshi)}
        # The daemon evaluates ticks in a long-lived code server with its instance loaded;
        # build that once so the first timed tick does not pay for Dagster's imports.
        instance = dg.DagsterInstance.ephemeral()
        timings, requests, marks = [], 0, []
        for _ in range(args.ticks):
            with dg.build_sensor_context(resources=resources, instance=instance) as context:
                started = time.perf_counter()
                result = position_exit_sensor()(context)
                timings.append(time.perf_counter() - started)
            requests = len(result.run_requests)
            with connect(url) as conn:
                marks.append(conn.execute("SELECT count(*) FROM position_marks").fetchone()[0] - sum(marks))
    print(json.dumps({
        "benchmark": "exit_sensor_tick",
        "open_positions": args.positions,
        "ticks": args.ticks,
        "seconds_per_tick_median": round(statistics.median(timings), 3),
        "seconds_per_tick_max": round(max(timings), 3),
        "run_requests_per_tick": requests,
        "seconds_first_tick": round(timings[0], 3),
        "marks_stored_per_tick": marks,
        "target_seconds": 1.0,
    }, indent=2))


if __name__ == "__main__":
    main()
