"""How Precog trades, and where it raises the alarm."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import dagster as dg
from pydantic import Field

from precog_pipelines.lib.trading.exit_flow import PaperExecutor
from precog_pipelines.lib.trading.ledger import account_key
from precog_pipelines.lib.trading.live import KalshiExecutor
from precog_pipelines.resources.sources import KalshiResource

TRADING_MODES = ("paper", "live")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
KALSHI_ENVIRONMENTS = ("demo", "prod")


class TradingResource(dg.ConfigurableResource):
    """Paper trading (fills simulated at the warehouse's current prices) unless ``live`` is set
    explicitly; live orders go to Kalshi's demo exchange unless ``kalshi_env`` is ``prod``."""

    trading_mode: str = Field(default="paper", description="paper or live (PRECOG_TRADING_MODE).")
    kalshi_env: str = Field(default="demo", description="demo or prod (KALSHI_ENV).")
    exit_pause_seconds: float = Field(default=2.0, description="Wait between unfilled exit attempts.")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.trading_mode not in TRADING_MODES:
            raise dg.Failure(f"PRECOG_TRADING_MODE {self.trading_mode!r} is not one of {', '.join(TRADING_MODES)}")
        if self.kalshi_env not in KALSHI_ENVIRONMENTS:
            raise dg.Failure(f"KALSHI_ENV {self.kalshi_env!r} is not one of {', '.join(KALSHI_ENVIRONMENTS)}")

    @property
    def is_live(self) -> bool:
        return self.trading_mode == "live"

    @property
    def account(self) -> str:
        """The account_balance key this mode books cash to (kalshi:paper, kalshi:demo, kalshi:prod)."""
        return account_key(self.trading_mode, self.kalshi_env)

    @contextmanager
    def executor(self, kalshi: KalshiResource) -> Iterator[PaperExecutor | KalshiExecutor]:
        """What buys and sells: simulated fills on paper, the exchange when live."""
        if not self.is_live:
            yield PaperExecutor(utc_now)
            return
        with kalshi.client() as client:
            yield KalshiExecutor(client, utc_now)

    @property
    def accounts(self) -> dict[str, str]:
        """Account of each trading mode: positions opened in another mode settle to their own."""
        return {"paper": account_key("paper", self.kalshi_env), "live": account_key("live", self.kalshi_env)}


class AlertingResource(dg.ConfigurableResource):
    """Where alerts go besides the ``alerts`` table."""

    webhook_url: str = Field(default="", description="POST alerts here as JSON (PRECOG_ALERT_WEBHOOK_URL); "
                                                      "empty for none.")
