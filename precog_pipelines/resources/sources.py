"""Kalshi and ESPN as Dagster resources: settings from the environment, clients on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pydantic import Field

from precog_pipelines.lib.espn import EspnClient
from precog_pipelines.lib.espn.client import DEFAULT_REQUESTS_PER_SECOND
from precog_pipelines.lib.kalshi import KalshiClient
from precog_pipelines.lib.kalshi.settings import KalshiSettings, kalshi_settings
from precog_pipelines.lib.resilient_http import RetryPolicy
from precog_pipelines.lib.settings import setting


class _HttpSettings(dg.ConfigurableResource):
    """How long to wait for one answer, and how hard to retry transient failures."""

    request_timeout_seconds: float = Field(default=15.0, description="Give up on one request after this long "
                                                                     "(then it is retried like any transient error).")
    retry_max_attempts: int = Field(default=6, description="Attempts per request, the first one included.")
    retry_initial_backoff_seconds: float = Field(default=0.5, description="First wait before a retry.")
    retry_max_total_seconds: float = Field(default=60.0, description="No retry starts after this long.")

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.retry_max_attempts,
                           initial_backoff_seconds=self.retry_initial_backoff_seconds,
                           max_backoff_seconds=max(self.retry_initial_backoff_seconds, 10.0),
                           jitter_seconds=self.retry_initial_backoff_seconds,
                           max_total_seconds=self.retry_max_total_seconds)


class KalshiResource(_HttpSettings):
    """The Kalshi exchange (or the local sandbox): market data, and the portfolio when a key is set.

    Empty strings mean "not set": the environment's default base URL, and no credentials.
    """

    environment: str = Field(default=setting("KALSHI_ENV").default, description="demo or prod (KALSHI_ENV).")
    base_url: str = Field(default="", description="Overrides the environment's URL (KALSHI_API_BASE_URL).")
    api_key_id: str = Field(default="", description="API key id (KALSHI_API_KEY_ID).")
    private_key_path: str = Field(default="", description="PEM private key file (KALSHI_PRIVATE_KEY_PATH).")
    rate_tier: str = Field(default=setting("KALSHI_RATE_TIER").default,
                           description="Your Kalshi rate tier (KALSHI_RATE_TIER).")
    series_tickers: str = Field(default=setting("PRECOG_KALSHI_SERIES").default,
                                description="Comma-separated series to ingest (PRECOG_KALSHI_SERIES).")
    tick_overlap_minutes: int = Field(
        default=int(setting("PRECOG_KALSHI_TICK_OVERLAP_MINUTES").default),
        description="Incremental market ticks look back this much before the previous tick "
                    "(PRECOG_KALSHI_TICK_OVERLAP_MINUTES).")

    def settings(self) -> KalshiSettings:
        """Validated settings; a bad value raises an error naming the variable."""
        return kalshi_settings(self.environment, self.base_url, self.api_key_id, self.private_key_path,
                               self.rate_tier, timeout_seconds=self.request_timeout_seconds)

    @property
    def series(self) -> list[str]:
        return [ticker.strip() for ticker in self.series_tickers.split(",") if ticker.strip()]

    @contextmanager
    def client(self) -> Iterator[KalshiClient]:
        with KalshiClient(self.settings(), retry_policy=self.retry_policy()) as client:
            yield client


class EspnResource(_HttpSettings):
    """ESPN's public scoreboard feed (or the local sandbox's)."""

    base_url: str = Field(default="", description="Overrides ESPN's NFL site API URL (ESPN_API_BASE_URL).")
    requests_per_second: int = Field(default=DEFAULT_REQUESTS_PER_SECOND,
                                     description="At most this many requests a second (ESPN publishes no limit).")

    @contextmanager
    def client(self) -> Iterator[EspnClient]:
        with EspnClient(self.base_url or None, retry_policy=self.retry_policy(),
                        timeout_seconds=self.request_timeout_seconds,
                        requests_per_second=self.requests_per_second) as client:
            yield client
