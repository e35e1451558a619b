"""A code location for the dead-run tests (issue 18, Finding 2): one job whose only asset is in
the ``kalshi_api`` pool, like the product's Kalshi assets, and runs in process like the product's
runs. The asset writes its run worker's process id, then (``hold``) keeps its run in progress
until the test kills that process."""

import os
import time
from pathlib import Path

import dagster as dg


class HoldConfig(dg.Config):
    pid_dir: str
    hold: bool = True


@dg.asset(pool="kalshi_api")
def kalshi_api_holder(context: dg.AssetExecutionContext, config: HoldConfig) -> None:
    """Takes a place in the kalshi_api pool: records the worker's pid, then holds until killed."""
    Path(config.pid_dir, context.run.run_id).write_text(str(os.getpid()))
    while config.hold:
        time.sleep(0.2)


hold_kalshi_api = dg.define_asset_job("hold_kalshi_api", [kalshi_api_holder])

defs = dg.Definitions(assets=[kalshi_api_holder], jobs=[hold_kalshi_api], executor=dg.in_process_executor)
