"""How long a new user waits, after `precog dev`, to see each step of the loop.

Usage: python bench/first_run.py [--timeout 900] [--whole-week]

Starts `precog dev` exactly as the README's first command does (fresh PRECOG_HOME, embedded
PostgreSQL, sandbox exchange, no configuration), then watches the warehouse every few seconds
and prints one JSON object: seconds from the command's start until the UI answered, and until
the first row of each table of the loop appeared (markets, game states, Elo ratings, edges,
positions, a mark, an exit, a settlement, a reconciliation), plus the machine's load average at
the start and end. With ``--whole-week`` it keeps watching until the timeout (the sandbox's week
plays out) and reports the book at the end: positions by status, settlements, marks, and every
reconciliation of the exchange account with the ledger (how many ran, how many failed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from precog_pipelines.cli.dev_stack import port_is_free
from precog_pipelines.lib.warehouse.server import connect, resolve_server

STEPS = {
    "markets": "SELECT count(*) FROM markets",
    "game_states": "SELECT count(*) FROM game_states",
    "elo_ratings": "SELECT count(*) FROM elo_rating_history",
    "edges": "SELECT count(*) FROM edges",
    "positions": "SELECT count(*) FROM positions",
    "position_marks": "SELECT count(*) FROM position_marks",
    "position_exits": "SELECT count(*) FROM position_exits",
    "settlements": "SELECT count(*) FROM settlements",
    "reconciliations": "SELECT count(*) FROM reconciliations",
}
FINAL_STATE = {
    "positions_by_status": "SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM "
                           "(SELECT status, count(*) AS n FROM positions_current GROUP BY status) s",
    "settlements": "SELECT count(*) FROM settlements",
    "position_marks": "SELECT count(*) FROM position_marks",
    "reconciliations": "SELECT count(*) FROM reconciliations",
    "reconciliations_failed": "SELECT count(*) FROM reconciliations WHERE NOT passed",
    "realized_pnl": "SELECT coalesce(sum(realized_pnl), 0)::text FROM positions_current",
}


def _free_port() -> int:
    port = 3900
    while not port_is_free("127.0.0.1", port):
        port += 1
    return port


def _ui_answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok
    except requests.RequestException:
        return False


def _row_counts(warehouse_url: str) -> dict[str, int]:
    try:
        with connect(warehouse_url) as conn:
            return {step: conn.execute(query).fetchone()[0] for step, query in STEPS.items()}
    except Exception:  # noqa: BLE001 - tables appear only once precog dev has migrated
        return {}


def _final_state(warehouse_url: str) -> dict:
    with connect(warehouse_url) as conn:
        return {name: conn.execute(query).fetchone()[0] for name, query in FINAL_STATE.items()}


def measure(timeout: float, whole_week: bool = False) -> dict:
    home = Path(tempfile.mkdtemp(prefix="precog-first-run-"))
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("PRECOG_DATABASE_URL", "DAGSTER_HOME")}
    environment["PRECOG_HOME"] = str(home)
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    process = subprocess.Popen([sys.executable, "-m", "precog_pipelines.cli", "dev", "--port", str(port)],
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen: dict[str, float] = {}
    warehouse_url = None
    try:
        while time.monotonic() - started < timeout and (whole_week or len(seen) < len(STEPS) + 1):
            elapsed = round(time.monotonic() - started, 1)
            if "ui" not in seen and _ui_answers(port):
                seen["ui"] = elapsed
                os.environ.pop("PRECOG_DATABASE_URL", None)
                # Attaches to the embedded server precog dev started, and leaves it to precog dev.
                warehouse_url = resolve_server(home, keep_running=True).warehouse_url
            if warehouse_url:
                for step, count in _row_counts(warehouse_url).items():
                    if count and step not in seen:
                        seen[step] = elapsed
            time.sleep(5)
        final = _final_state(warehouse_url) if warehouse_url else {}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    return {
        "seconds_until": {step: seen.get(step) for step in ["ui", *STEPS]},
        "whole_loop_seconds": max(seen.values()) if len(seen) == len(STEPS) + 1 else None,
        "at_the_end": final,
        "timeout_seconds": timeout,
        "load_average_1m": {"start": load_at_start, "end": os.getloadavg()[0]},
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    parser.add_argument("--whole-week", action="store_true", help="watch until the timeout, then report the book")
    arguments = parser.parse_args()
    print(json.dumps(measure(arguments.timeout, arguments.whole_week), indent=2, default=str))


if __name__ == "__main__":
    main()
