"""The order-error circuit breaker against the sandbox exchange: live entry orders that fail
(503 on POST /portfolio/events/orders, the sandbox's fault injection) are recorded one by one;
the fifth in a row halts trading with a critical alert, the next positions run sends no order,
and after `precog trading resume` (with the exchange healthy again) entries go out."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.trading.assets import positions
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import sandbox_resources
from precog_pipelines_tests.support.faults import failure_text

pytestmark = pytest.mark.slow
ORDERS_PATH = "/trade-api/v2/portfolio/events/orders"
RETRY_ATTEMPTS = 2


def test_five_consecutive_sandbox_order_errors_halt_entries(kalshi_key, rated_warehouse_url, dagster_instance):
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    config = SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})
    with SandboxServer(config) as sandbox:
        live = sandbox_resources(rated_warehouse_url, sandbox, kalshi_key, trading_mode="live",
                                 kalshi_options={"retry_max_attempts": RETRY_ATTEMPTS})
        assert dg.materialize([kalshi_series, kalshi_events, kalshi_markets, game_states, edges], resources=live,
                              instance=dagster_instance).success
        fault = sandbox.inject("server_error", path=ORDERS_PATH, method="POST", count=None, probability=1.0,
                               status=503)

        for run in range(1, 6):
            result = dg.materialize([positions], resources=live, instance=dagster_instance, raise_on_error=False)
            assert not result.success
            message = failure_text(result)
            assert "entry order entry-default_paper-" in message and "HTTP 503" in message, message
            with connect(rated_warehouse_url) as conn:
                state = trading_state(conn)
            assert state.halted is (run == 5), (run, state)
        assert "trading is now halted: 5 consecutive order errors (limit 5)" in message
        assert fault.fired == 5 * RETRY_ATTEMPTS

        halted = dg.materialize([positions], resources=live, instance=dagster_instance)

        metadata = halted.asset_materializations_for_node("positions")[0].metadata
        assert metadata["opened"].value == 0
        assert metadata["trading_state"].value.startswith("halted: 5 consecutive order errors (limit 5); last: ")
        assert fault.fired == 5 * RETRY_ATTEMPTS  # no order reached the exchange while halted
        with connect(rated_warehouse_url) as conn:
            assert conn.execute("SELECT outcome, count(*) FROM entry_attempts GROUP BY 1").fetchall() == [("error", 5)]
            assert conn.execute("SELECT source, actor FROM trading_halts").fetchall() == [
                ("order_errors", "positions (default_paper)")]
            assert conn.execute("SELECT severity, message LIKE 'trading halted (order_errors%%' FROM alerts "
                                "WHERE component = 'trading' AND resolved_at IS NULL").fetchall() == [("critical", True)]

        sandbox.clear_faults()
        assert CliRunner().invoke(precog, ["trading", "resume", "--database-url", rated_warehouse_url]).exit_code == 0
        resumed = dg.materialize([positions], resources=live, instance=dagster_instance)

        assert resumed.asset_materializations_for_node("positions")[0].metadata["opened"].value >= 1
        with live["kalshi"].client() as client:
            assert len(list(client.iter_fills())) >= 1
