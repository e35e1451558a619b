"""Killing a portfolio run mid-write leaves nothing half-written (issue 13, item 1).

Each portfolio asset reads its whole list from the sandbox exchange, then writes it in one
transaction. A forked process runs the asset through Dagster and SIGKILLs itself (the inert hook of
lib/trading/kill_points.py, named by PRECOG_TEST_KILL_AT) after the batch is staged or after it is
written and before the commit: the table must hold nothing of that batch. The asset is then run
again, unkilled, twice: every fill, order, position and settlement is stored, each fill and
settlement once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import dagster as dg
import pytest

from precog_pipelines.defs.portfolio.assets import (
    exchange_fills,
    exchange_orders,
    exchange_positions,
    exchange_settlements,
)
from precog_pipelines.lib.kalshi.errors import KalshiRequestError
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import sandbox_resources
from precog_pipelines_tests.support.kill import killed_at

pytestmark = pytest.mark.slow

CASES = [
    (exchange_fills, "staged"), (exchange_fills, "written"),
    (exchange_settlements, "staged"), (exchange_settlements, "written"),
    (exchange_orders, "written"), (exchange_positions, "written"),
]


@pytest.fixture
def account(kalshi_key, warehouse_url):
    """A sandbox account that bought on two games, one of which has since settled (so every list
    has something in it), and the resources that read it (paper mode, the sandbox key)."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    config = SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})
    with SandboxServer(config) as sandbox:
        resources = sandbox_resources(warehouse_url, sandbox, kalshi_key)
        bought = []
        with resources["kalshi"].client() as client:
            for game in sorted((g for g in sandbox.describe_world()["games"] if g["finalized_at"]),
                               key=lambda g: g["kickoff"]):
                if len(bought) == 2:
                    break
                if bought and game["finalized_at"] == bought[0]["finalized_at"]:
                    continue
                try:
                    for split in range(2):  # two orders per market: several fills
                        client.create_order(ticker=next(iter(game["markets"].values())), side="bid", count=3,
                                            price=Decimal("0.99"), time_in_force="immediate_or_cancel",
                                            client_order_id=f"crash-test-{len(bought)}-{split}")
                except KalshiRequestError as refused:
                    assert "MARKET_INACTIVE" in str(refused)  # its market does not trade yet
                    continue
                bought.append(game)
        assert len(bought) == 2, "the test needs two games trading now, settling at different times"
        first = min(bought, key=lambda g: g["finalized_at"])
        sandbox.set_time(datetime.fromisoformat(first["finalized_at"].replace("Z", "+00:00")) + timedelta(minutes=1))
        yield resources


def _count(url: str, table: str) -> int:
    with connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize(("asset", "stage"), CASES, ids=[f"{a.key.to_user_string()}-{s}" for a, s in CASES])
def test_a_portfolio_run_killed_mid_write_leaves_nothing_and_a_rerun_stores_everything_once(
        account, warehouse_url, dagster_instance, asset, stage):
    table = asset.key.to_user_string()
    killed_at(f"portfolio_{table}_{stage}",
               lambda: dg.materialize([asset], resources=account, instance=dagster_instance))
    assert _count(warehouse_url, table) == 0

    for _ in range(2):
        assert dg.materialize([asset], resources=account, instance=dagster_instance).success
    with account["kalshi"].client() as client:
        listed = {"exchange_fills": client.iter_fills, "exchange_settlements": client.iter_settlements,
                  "exchange_orders": client.iter_orders, "exchange_positions": client.iter_positions}[table]
        expected = len(list(listed()))
    assert expected >= (4 if table in ("exchange_fills", "exchange_orders") else 1)
    assert _count(warehouse_url, table) == expected
