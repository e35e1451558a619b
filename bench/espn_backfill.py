"""Backfilling five NFL seasons (2021-2025) from the sandbox's ESPN through the
``espn_season_games`` asset, at the production rate limit (2 requests a second).

Usage: python bench/espn_backfill.py [--first 2021] [--last 2025] [--requests-per-second 2]

Prints one JSON object: seconds, requests, requests per second, final games stored. The
warehouse is a throw-away database on PRECOG_BENCH_DATABASE_URL's server (else
PRECOG_DATABASE_URL's, else the embedded one); Dagster's instance is ephemeral.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dagster as dg  # noqa: E402
from _database import bench_database  # noqa: E402

from precog_pipelines.defs.espn.assets import espn_season_games  # noqa: E402
from precog_pipelines.lib.warehouse.server import connect  # noqa: E402
from precog_pipelines.resources.sources import EspnResource  # noqa: E402
from precog_pipelines.resources.warehouse import WarehouseResource  # noqa: E402
from precog_pipelines.sandbox import SandboxConfig, SandboxServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=2021)
    parser.add_argument("--last", type=int, default=2025)
    parser.add_argument("--requests-per-second", type=int, default=2, help="the client's limit (production: 2)")
    args = parser.parse_args()

    with SandboxServer(SandboxConfig(speed=0, rate_tier=None)) as sandbox, bench_database("precog_bench_espn") as url:
        sandbox.reset_stats()
        started = time.perf_counter()
        result = dg.materialize(
            [espn_season_games],
            resources={"warehouse": WarehouseResource(database_url=url),
                       "espn": EspnResource(base_url=sandbox.espn_base_url,
                                            requests_per_second=args.requests_per_second)},
            instance=dg.DagsterInstance.ephemeral(),
            tags={"dagster/asset_partition_range_start": str(args.first),
                  "dagster/asset_partition_range_end": str(args.last)},
        )
        seconds = time.perf_counter() - started
        received = sandbox.stats().get("requests", 0)  # nothing but the backfill talks to this sandbox
        with connect(url) as conn:
            finals = conn.execute(
                "SELECT count(*) FROM games g JOIN game_states s ON s.external_game_id = g.external_game_id "
                "AND s.row_current_ind WHERE s.completed AND g.season BETWEEN %s AND %s",
                (args.first, args.last)).fetchone()[0]
    requests = result.asset_materializations_for_node("espn_season_games")[-1].metadata["run_requests"].value
    print(json.dumps({
        "seasons": f"{args.first}..{args.last}",
        "requests": requests,
        "requests_received_by_sandbox": received,
        "seconds": round(seconds, 2),
        "requests_per_second": round(requests / seconds, 3),
        "limit_requests_per_second": args.requests_per_second,
        "final_games_stored": finals,
    }, indent=2))


if __name__ == "__main__":
    main()
