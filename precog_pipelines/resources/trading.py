"""How Precog trades, and where it raises the alarm."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import dagster as dg
from pydantic import Field

from precog_pipelines.lib.settings import setting
from precog_pipelines.lib.trading.executors import KalshiExecutor, OrderExecutor, PaperExecutor
from precog_pipelines.lib.trading.ledger import account_key
from precog_pipelines.resources.sources import KalshiResource


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class TradingResource(dg.ConfigurableResource):
    """Paper trading (fills simulated at the warehouse's current prices) unless ``live`` is set
    explicitly; live orders go to the exchange of the nested ``kalshi`` resource, Kalshi's demo
    unless its environment is ``prod``."""

    trading_mode: str = Field(default=setting("PRECOG_TRADING_MODE").default,
                              description="paper or live (PRECOG_TRADING_MODE).")
    exit_pause_seconds: float = Field(default=2.0, description="Wait between unfilled exit attempts.")
    halt_after_order_errors: int = Field(
        default=int(setting("PRECOG_HALT_AFTER_ORDER_ERRORS").default),
        description="Failed order requests in a row (entries and exits) that halt trading "
                    "(PRECOG_HALT_AFTER_ORDER_ERRORS).")
    halt_stale_market_minutes: int = Field(
        default=int(setting("PRECOG_HALT_STALE_MARKET_MINUTES").default),
        description="Minutes without a new market version, while markets and positions are open, that halt "
                    "trading (PRECOG_HALT_STALE_MARKET_MINUTES).")
    kalshi: KalshiResource = Field(description="The exchange live orders go to; its environment names the accounts.")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        mode = setting("PRECOG_TRADING_MODE")
        if problem := mode.problem(self.trading_mode):
            raise dg.Failure(problem, allow_retries=False)

    @property
    def is_live(self) -> bool:
        return self.trading_mode == "live"

    @property
    def account(self) -> str:
        """The account_balance key this mode books cash to (kalshi:paper, kalshi:demo, kalshi:prod)."""
        return account_key(self.trading_mode, self.kalshi.environment)

    @contextmanager
    def executor(self) -> Iterator[OrderExecutor]:
        """What buys and sells: simulated fills on paper, the exchange when live."""
        if not self.is_live:
            yield PaperExecutor(utc_now)
            return
        with self.kalshi.client() as client:
            yield KalshiExecutor(client, utc_now)

    @property
    def accounts(self) -> dict[str, str]:
        """Account of each trading mode: positions opened in another mode settle to their own."""
        return {mode: account_key(mode, self.kalshi.environment) for mode in ("paper", "live")}


class AlertingResource(dg.ConfigurableResource):
    """Where alerts go besides the ``alerts`` table."""

    webhook_url: str = Field(default="", description="POST alerts here as JSON (PRECOG_ALERT_WEBHOOK_URL); "
                                                      "empty for none.")
    market_stall_minutes: int = Field(
        default=int(setting("PRECOG_MARKET_STALL_MINUTES").default),
        description="Minutes without a new market version, while a market is open, before market data is "
                    "declared stalled (PRECOG_MARKET_STALL_MINUTES).")
