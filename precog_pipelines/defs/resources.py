"""Resources bound for every asset, check, sensor and job, configured from the environment.

Each field is bound to its environment variable when the variable is set (read when a run
starts, so secrets never show in the UI); an unset variable leaves the field at its default,
which is the settings registry's (lib/settings.py). `precog dev` and `precog env` export every
code-location setting, so Dagster run directly (`dg dev`, `dagster dev`) sees the same values.
"""

import os

import dagster as dg

from precog_pipelines.resources.elo_games import EloGameSourceResource
from precog_pipelines.resources.sources import EspnResource, KalshiResource
from precog_pipelines.resources.trading import AlertingResource, TradingResource
from precog_pipelines.resources.warehouse import WarehouseResource


def _from_environment(**fields: str) -> dict[str, dg.EnvVar]:
    """``field=VARIABLE`` pairs bound to the variables that are set; the rest keep their defaults."""
    return {field: dg.EnvVar(variable) for field, variable in fields.items() if os.environ.get(variable)}


def _int_from_environment(**fields: str) -> dict:
    """As :func:`_from_environment`, for integer fields."""
    return {field: dg.EnvVar.int(variable) for field, variable in fields.items() if os.environ.get(variable)}


@dg.definitions
def resources() -> dg.Definitions:
    kalshi = KalshiResource(**_from_environment(
        environment="KALSHI_ENV", base_url="KALSHI_API_BASE_URL", api_key_id="KALSHI_API_KEY_ID",
        private_key_path="KALSHI_PRIVATE_KEY_PATH", rate_tier="KALSHI_RATE_TIER",
        series_tickers="PRECOG_KALSHI_SERIES"),
        **_int_from_environment(tick_overlap_minutes="PRECOG_KALSHI_TICK_OVERLAP_MINUTES"))
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(database_url=dg.EnvVar("PRECOG_DATABASE_URL")),
            "kalshi": kalshi,
            "trading": TradingResource(kalshi=kalshi, **_from_environment(trading_mode="PRECOG_TRADING_MODE"),
                                       **_int_from_environment(halt_after_order_errors="PRECOG_HALT_AFTER_ORDER_ERRORS",
                                                               halt_stale_market_minutes="PRECOG_HALT_STALE_MARKET_MINUTES")),
            "alerting": AlertingResource(**_from_environment(webhook_url="PRECOG_ALERT_WEBHOOK_URL",
                                                                  routing_file="PRECOG_ALERT_ROUTING_FILE"),
                                         **_int_from_environment(market_stall_minutes="PRECOG_MARKET_STALL_MINUTES")),
            "espn": EspnResource(**_from_environment(base_url="ESPN_API_BASE_URL")),
            "elo_games": EloGameSourceResource(**_from_environment(history_dir="PRECOG_ELO_HISTORY_DIR")),
        }
    )
