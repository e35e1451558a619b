"""One kalshi_markets tick before and after incremental ingestion, side by side, as JSON.

A ``precog sandbox`` process serves series KXSANDBOX with 20,000 markets settled before its
start and 300 open ones (frozen clock, the server-side Basic-tier bucket on). Through Dagster,
on a throw-away migrated warehouse:

1. series and events, then a first kalshi_markets run (no watermark: a full crawl) loads them;
2. **before**: the tick as it was, every market of the series re-read and merged
   (``full_crawl: true``, the same unfiltered crawl every tick used to make);
3. **after**: an incremental tick (live markets, and those settled since the last tick);

steps 2 and 3 alternate ``--repeats`` times (counts are the largest seen, seconds all listed).

The sandbox clock moves 5 minutes before each tick, as the schedule would. Reported per tick:
Kalshi requests, wall seconds of the Dagster run, markets fetched, and how many responses
carried a market that was settled and already stored (the sandbox counts, per market, the
responses that included it).

    PRECOG_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/kalshi_tick.py
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import requests

from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.sources import KalshiResource
from precog_pipelines.resources.warehouse import WarehouseResource

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _database import bench_database  # noqa: E402
from _sandbox_process import start_sandbox  # noqa: E402

TICK_SECONDS = 300
FULL_CRAWL = {"ops": {"kalshi_markets": {"config": {"full_crawl": True}}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settled", type=int, default=20_000)
    parser.add_argument("--open", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="before/after pairs, alternated")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home, bench_database("bench_kalshi_tick") as url:
        process, base_url = start_sandbox(["--settled-markets", str(args.settled), "--extra-markets", str(args.open),
                                           "--rate-tier", "basic"], home)
        admin = base_url.rsplit("/trade-api", 1)[0] + "/_sandbox"
        try:
            resources = {"warehouse": WarehouseResource(database_url=url),
                         "kalshi": KalshiResource(base_url=base_url, series_tickers="KXSANDBOX")}
            instance = dg.DagsterInstance.ephemeral()
            assert dg.materialize([kalshi_series, kalshi_events], resources=resources, instance=instance).success
            first = tick(admin, resources, instance, FULL_CRAWL, settled_tickers=None)
            settled = stored_settled_tickers(url)
            pairs = [(tick(admin, resources, instance, FULL_CRAWL, settled), tick(admin, resources, instance, None, settled))
                     for _ in range(args.repeats)]
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)

    before, after = summary([b for b, _ in pairs]), summary([a for _, a in pairs])
    print(json.dumps({
        "settled_markets": args.settled, "open_markets": args.open, "tier": "basic", "page_limit": 1000,
        "repeats": args.repeats, "first_load": first,
        "before_full_crawl_tick": before, "after_incremental_tick": after,
        "requests_ratio": round(after["requests"] / before["requests"], 3),
        "median_seconds_ratio": round(after["median_seconds"] / before["median_seconds"], 3),
    }, indent=2))
    if after["responses_about_stored_settled_markets"]:
        raise SystemExit("the incremental tick asked about settled markets it already stored")


def summary(ticks: list[dict]) -> dict:
    """One tick kind over the repeats: its (constant) counts, every run's seconds and the median."""
    counts = {key: max(t[key] for t in ticks) for key in ("requests", "fetched", "inserted",
                                                           "responses_about_stored_settled_markets")}
    seconds = [t["seconds"] for t in ticks]
    return {"crawl": ticks[0]["crawl"], **counts, "seconds": seconds, "median_seconds": statistics.median(seconds)}


def stored_settled_tickers(url: str) -> set[str]:
    with connect(url) as conn:
        return {t for (t,) in conn.execute("SELECT ticker FROM markets_current WHERE status = 'finalized'")}


def tick(admin: str, resources: dict, instance: dg.DagsterInstance, run_config: dict | None,
         settled_tickers: set[str] | None) -> dict:
    requests.post(admin + "/clock", json={"advance_seconds": TICK_SECONDS}, timeout=10).raise_for_status()
    if settled_tickers is not None:
        requests.delete(admin + "/stats", timeout=10).raise_for_status()
    started = time.perf_counter()
    result = dg.materialize([kalshi_markets], resources=resources, instance=instance, run_config=run_config or {})
    seconds = time.perf_counter() - started
    assert result.success
    [materialization] = result.asset_materializations_for_node("kalshi_markets")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    figures = {"crawl": metadata["crawl"], "requests": metadata["kalshi_requests"], "seconds": round(seconds, 3),
               "fetched": metadata["fetched"], "inserted": metadata["inserted"]}
    if settled_tickers is not None:
        served = requests.get(admin + "/served", timeout=30).json()["served"]
        figures["responses_about_stored_settled_markets"] = sum(n for t, n in served.items() if t in settled_tickers)
    return figures


if __name__ == "__main__":
    main()
