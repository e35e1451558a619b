"""Crawl N markets from the sandbox at a Kalshi rate tier and print JSON figures.

The sandbox runs as its own process (``precog sandbox``), as it would beside ``precog dev``,
with N synthetic markets (series KXSANDBOX) and the server-side token bucket of the same tier
turned on, so any request the client sends too early comes back as a 429 and is counted.

    .venv/bin/python bench/kalshi_crawl.py                    # 50,000 markets, limit 1000, Basic
    .venv/bin/python bench/kalshi_crawl.py --limit 100        # 10x the requests: the limiter binds
    .venv/bin/python bench/kalshi_crawl.py --limit 100 --unthrottled   # no client limiter: 429s

Reported: requests, seconds, requests per second against the tier's configured rate
(read tokens per second / 10 tokens per request), markets per second (fetched and parsed),
429s seen by the client and refused by the server, and seconds the client spent waiting.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

import requests

from precog_pipelines.lib.ingest.rejects import parse_batch
from precog_pipelines.lib.kalshi import TIERS, KalshiClient, KalshiParseError, KalshiRateLimiter, KalshiSettings
from precog_pipelines.lib.kalshi.parse import parse_market
from precog_pipelines.lib.kalshi.ratelimit import DEFAULT_COST

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sandbox_process import start_sandbox  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=1000, help="page size (Kalshi's maximum is 1000)")
    parser.add_argument("--tier", default="basic", choices=sorted(TIERS))
    parser.add_argument("--unthrottled", action="store_true",
                        help="give the client a limiter sized for the top tier (to show the server's 429s)")
    args = parser.parse_args()

    tier = TIERS[args.tier]
    with tempfile.TemporaryDirectory() as home:
        process, base_url = start_sandbox(["--extra-markets", str(args.markets), "--rate-tier", args.tier], home)
        try:
            limiter = KalshiRateLimiter(TIERS["prestige"] if args.unthrottled else tier)
            with KalshiClient(KalshiSettings(base_url=base_url, rate_tier=args.tier), rate_limiter=limiter) as client:
                started = time.perf_counter()
                parsed, rejected = parse_batch(
                    client.iter_market_payloads(series_ticker="KXSANDBOX", limit=args.limit),
                    parse_market, "ticker", (KalshiParseError,),
                )
                seconds = time.perf_counter() - started
                stats = client.stats
            limiter.close()
            server = requests.get(base_url.rsplit("/trade-api", 1)[0] + "/_sandbox/stats", timeout=10).json()["stats"]
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)

    fetched = len(parsed) + len(rejected)
    configured_rps = tier.read_tokens_per_second / DEFAULT_COST
    print(json.dumps({
        "markets": fetched,
        "rejected": len(rejected),
        "page_limit": args.limit,
        "tier": args.tier,
        "client_limiter": "prestige (unthrottled)" if args.unthrottled else args.tier,
        "requests": stats.requests,
        "seconds": round(seconds, 3),
        "requests_per_second": round(stats.requests / seconds, 2),
        "configured_requests_per_second": configured_rps,
        "ratio_to_configured_rate": round(stats.requests / seconds / configured_rps, 3),
        "markets_per_second": round(fetched / seconds, 1),
        "client_429s": stats.rate_limited,
        "server_429s": server.get("rate_limited", 0),
        "client_throttled_seconds": round(stats.throttled_seconds, 3),
    }, indent=2))
    if fetched != args.markets:
        raise SystemExit(f"expected {args.markets} markets, got {fetched}")


if __name__ == "__main__":
    main()
