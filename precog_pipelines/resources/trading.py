"""How Precog trades, and where it raises the alarm."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import dagster as dg
import psycopg
from pydantic import Field, PrivateAttr

from precog_pipelines.lib.alert_delivery import Delivery, deliver
from precog_pipelines.lib.alert_routing import Routing, RoutingError, load_routing, routing_path
from precog_pipelines.lib.alerts import Alert
from precog_pipelines.lib.settings import precog_home, setting
from precog_pipelines.lib.trading.executors import KalshiExecutor, OrderExecutor, PaperExecutor
from precog_pipelines.lib.trading.ledger import account_key
from precog_pipelines.resources.sources import KalshiResource

log = logging.getLogger(__name__)


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
    """Who is told about an alert (its row is in the ``alerts`` table either way): the channels the
    routing file names for its severity and component (lib/alert_routing.py)."""

    webhook_url: str = Field(default="", description="The shipped routing file's `webhook` channel posts alerts "
                                                      "here as JSON (PRECOG_ALERT_WEBHOOK_URL); empty for none.")
    routing_file: str = Field(default="", description="The alert routing file (PRECOG_ALERT_ROUTING_FILE); empty "
                                                       "for the one shipped in the package.")
    market_stall_minutes: int = Field(
        default=int(setting("PRECOG_MARKET_STALL_MINUTES").default),
        description="Minutes without a new market version, while a market is open, before market data is "
                    "declared stalled (PRECOG_MARKET_STALL_MINUTES).")
    _routing: Routing | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # The whole routing file is validated when the resource starts: a bad file fails the run in
        # one line naming the field and value, before any alert needs it.
        try:
            self._routing = load_routing(routing_path(self.routing_file), self._environment())
        except RoutingError as error:
            raise dg.Failure(f"alert routing: {error}", allow_retries=False) from None

    def _environment(self) -> dict[str, str]:
        # The variables the routing file names, this resource's webhook URL standing for its own.
        return {**os.environ, "PRECOG_ALERT_WEBHOOK_URL": self.webhook_url}

    def routing(self) -> Routing:
        if self._routing is None:
            self._routing = load_routing(routing_path(self.routing_file), self._environment())
        return self._routing

    def notify(self, conn: psycopg.Connection, alert: Alert) -> list[Delivery]:
        """Tell the channels the routing names for this alert; call it once the alert row is
        committed, and commit after it (it records each delivery). Never raises for a channel."""
        try:
            routing = self.routing()
        except RoutingError as error:
            # Validated at start; a file edited since is logged, the alert row stays.
            log.error("alert %s not delivered: alert routing %s", alert.id, error)
            return []
        return deliver(conn, alert, routing, environ=self._environment(), home=precog_home())
