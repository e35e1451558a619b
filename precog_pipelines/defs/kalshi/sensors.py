"""The alarm on stalled market data. Built by a function from an :class:`Automation` (stopped in
production, running under `precog dev`), in this module's definitions function."""

from datetime import datetime, timezone

import dagster as dg

from precog_pipelines.core.automation import PRODUCTION, Automation
from precog_pipelines.lib import alerts
from precog_pipelines.lib.ingest.freshness import market_data_stall
from precog_pipelines.resources.trading import AlertingResource
from precog_pipelines.resources.warehouse import WarehouseResource

COMPONENT = "kalshi_ingestion"
STALL_FINGERPRINT = alerts.fingerprint(COMPONENT, "market_data_stalled")


def market_data_stall_sensor(automation: Automation = PRODUCTION) -> dg.SensorDefinition:
    # A sensor, not an asset check: it is evaluated by the daemon whatever happens to runs, so it
    # still fires when ingestion runs are wedged in the queue (issue 18, Finding 2).
    return dg.sensor(name="market_data_stall_sensor", minimum_interval_seconds=60,
                     default_status=automation.sensor_status)(watch_market_data)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[market_data_stall_sensor(Automation.from_environment())])


def watch_market_data(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                      alerting: AlertingResource) -> dg.SkipReason:
    """Every minute: when no new market version was stored for PRECOG_MARKET_STALL_MINUTES while a
    market is open, raise a critical alert (one open alert, counted on repeats) and tell the
    channels the alert routing names; when data flows again, resolve it. Requests no run."""
    with warehouse.connection() as conn:
        stall = market_data_stall(conn, datetime.now(timezone.utc), alerting.market_stall_minutes)
        if stall is None:
            resolved = alerts.resolve_alert(conn, STALL_FINGERPRINT)
            return dg.SkipReason("market data is flowing (stall alert resolved)" if resolved else
                                 "market data is flowing, or no market is open")
        alert = alerts.raise_alert(
            conn, "critical", COMPONENT, stall.message, STALL_FINGERPRINT,
            {"last_version_at": stall.last_version_at.isoformat() if stall.last_version_at else None,
             "open_markets": stall.open_markets, "stall_minutes": stall.stall_minutes})
        conn.commit()
        alerting.notify(conn, alert)
        conn.commit()
    context.log.warning(stall.message)
    return dg.SkipReason(stall.message)
