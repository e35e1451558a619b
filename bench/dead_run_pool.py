"""What a SIGKILLed run leaves in the kalshi_api pool (issue 18, Finding 2), before and after.

For each instance configuration (the one before the fix: pools at op granularity, no slot
freeing; and the repository's dagster.yaml), on a new PostgreSQL-backed DAGSTER_HOME: fill the
pool with runs of a kalshi_api asset, SIGKILL their processes, then materialize once more (the way
`dagster asset materialize` and the tests run, straight on the instance) and report whether it
finished, how long it took, the CPU it burnt while waiting, and whether it answered SIGTERM.
Prints JSON.

    PRECOG_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/dead_run_pool.py
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from psycopg import sql

from precog_pipelines.lib.settings import repository_root
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.lib.warehouse.urls import with_database

_CHILD = """
import sys, dagster as dg
from precog_pipelines_tests.support.pool_holder import kalshi_api_holder
with dg.DagsterInstance.get() as instance:
    result = dg.materialize([kalshi_api_holder], instance=instance, run_config={"ops": {"kalshi_api_holder": {
        "config": {"pid_dir": sys.argv[1], "hold": sys.argv[2] == "1"}}}})
sys.exit(0 if result.success else 1)
"""


def _before_fix(config: dict) -> dict:
    config = json.loads(json.dumps(config))
    config["concurrency"]["pools"].pop("granularity", None)
    config["run_monitoring"].pop("free_slots_after_run_end_seconds", None)
    return config


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _trial(config: dict, server_url: str) -> dict:
    name = f"precog_bench_dead_runs_{uuid.uuid4().hex[:8]}"
    admin = with_database(server_url, "postgres")
    with connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with tempfile.TemporaryDirectory() as home:
            Path(home, "dagster.yaml").write_text(yaml.safe_dump(config))
            pids = Path(home, "pids")
            pids.mkdir()
            env = os.environ | {"DAGSTER_HOME": home, "DAGSTER_PG_URL": with_database(server_url, name)}

            def start(hold: bool) -> subprocess.Popen:
                return subprocess.Popen([sys.executable, "-c", _CHILD, str(pids), "1" if hold else "0"], env=env,
                                        cwd=repository_root(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            limit = config["concurrency"]["pools"]["default_limit"]
            holders = [start(hold=True) for _ in range(limit)]
            deadline = time.monotonic() + 120
            while len(list(pids.iterdir())) < limit and time.monotonic() < deadline:
                time.sleep(0.1)
            for holder in holders:
                holder.send_signal(signal.SIGKILL)
                holder.wait()

            started = time.monotonic()
            following = start(hold=False)
            try:
                following.wait(timeout=30)
                return {"next_run_finished": following.returncode == 0,
                        "seconds": round(time.monotonic() - started, 2)}
            except subprocess.TimeoutExpired:
                pass
            cpu, wall = _cpu_seconds(following.pid), time.monotonic()
            time.sleep(5)
            cpu_percent = round(100 * (_cpu_seconds(following.pid) - cpu) / (time.monotonic() - wall))
            following.send_signal(signal.SIGTERM)
            try:
                following.wait(timeout=10)
                answered = True
            except subprocess.TimeoutExpired:
                following.kill()
                following.wait()
                answered = False
            return {"next_run_finished": False, "waited_seconds": 30, "cpu_percent_while_waiting": cpu_percent,
                    "exited_within_10_s_of_sigterm": answered}
    finally:
        with connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    server_url = os.environ.get("PRECOG_BENCH_DATABASE_URL") or os.environ["PRECOG_DATABASE_URL"]
    config = yaml.safe_load((repository_root() / "dagster.yaml").read_text())
    print(json.dumps({"before_fix_op_granularity": _trial(_before_fix(config), server_url),
                      "dagster_yaml": _trial(config, server_url)}, indent=2))


if __name__ == "__main__":
    main()
