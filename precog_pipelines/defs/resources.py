"""Resources bound for every asset, check, sensor and job, configured from the environment.

`precog dev` and `precog env` export every variable below with its default, so Dagster run
directly (`dg dev`, `dagster dev`) after `eval "$(precog env)"` sees the same settings.
"""

import dagster as dg

from precog_pipelines.resources.elo_games import EloGameSourceResource
from precog_pipelines.resources.sources import EspnResource, KalshiResource
from precog_pipelines.resources.trading import AlertingResource, TradingResource
from precog_pipelines.resources.warehouse import WarehouseResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(database_url=dg.EnvVar("PRECOG_DATABASE_URL")),
            "trading": TradingResource(
                trading_mode=dg.EnvVar("PRECOG_TRADING_MODE"), kalshi_env=dg.EnvVar("KALSHI_ENV")
            ),
            "alerting": AlertingResource(webhook_url=dg.EnvVar("PRECOG_ALERT_WEBHOOK_URL")),
            "kalshi": KalshiResource(
                environment=dg.EnvVar("KALSHI_ENV"),
                base_url=dg.EnvVar("KALSHI_API_BASE_URL"),
                api_key_id=dg.EnvVar("KALSHI_API_KEY_ID"),
                private_key_path=dg.EnvVar("KALSHI_PRIVATE_KEY_PATH"),
                rate_tier=dg.EnvVar("KALSHI_RATE_TIER"),
                series_tickers=dg.EnvVar("PRECOG_KALSHI_SERIES"),
            ),
            "espn": EspnResource(base_url=dg.EnvVar("ESPN_API_BASE_URL")),
            "elo_games": EloGameSourceResource(history_dir=dg.EnvVar("PRECOG_ELO_HISTORY_DIR")),
        }
    )
