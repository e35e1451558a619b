"""``precog dev`` and ``precog env``: run the whole product locally."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import click

from precog_pipelines.cli.dagster_output import DagsterOutput
from precog_pipelines.cli.dev_stack import (
    end_process_group,
    launch_backfill,
    listen_problem,
    prepare_dagster_home,
    stack_environment,
    wait_for_backfill,
    wait_for_positions,
    wait_until_serving,
)
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.interrupts import honour_ctrl_c
from precog_pipelines.cli.params import FIXED_PORT, HOST, SPEED
from precog_pipelines.lib.kalshi import KalshiClient
from precog_pipelines.lib.kalshi.settings import kalshi_settings_from_env
from precog_pipelines.lib.resilient_http import RetryPolicy
from precog_pipelines.lib.settings import precog_home, repository_root, with_absolute_paths
from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.readiness import require_migrated
from precog_pipelines.lib.warehouse.server import connect, resolve_server
from precog_pipelines.sandbox import SandboxConfig, SandboxServer, ensure_sandbox_credentials, start_sandbox

SHUTDOWN_GRACE_SECONDS = 30
GROUP_GRACE_SECONDS = 10
PRIMING_TIMEOUT_SECONDS = 300
OUTPUT_DRAIN_SECONDS = 10
BACKFILL_TIMEOUT_SECONDS = 1800


def _dg_executable() -> str:
    beside_python = Path(sys.executable).parent / "dg"
    return str(beside_python) if beside_python.exists() else (shutil.which("dg") or "dg")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, type=HOST, help="Address the UI listens on.")
@click.option("--port", default=3000, show_default=True, type=FIXED_PORT, help="Port of the Dagster UI.")
@click.option("--data", type=click.Choice(["sandbox", "live"]), envvar="PRECOG_DATA", default="sandbox",
              show_default=True,
              help="sandbox: a simulated NFL week on a local exchange, no account needed. live: Kalshi "
                   "(KALSHI_ENV, demo by default) and ESPN. Env: PRECOG_DATA.")
@click.option("--sandbox-speed", default=90.0, show_default=True, type=SPEED,
              help="Simulated seconds per real second once positions are open (90: a game and its "
                   "settlement in about two minutes).")
@click.option("--sandbox-lead", default=20, show_default=True, type=click.IntRange(0, 7 * 24 * 60),
              help="Simulated minutes between the sandbox's start and its first kickoff.")
@user_errors
def dev(host: str, port: int, data: str, sandbox_speed: float, sandbox_lead: int) -> None:
    """Start the warehouse, migrations, the sandbox exchange, and the Dagster UI and daemon with
    schedules and sensors on; Ctrl-C stops it all."""
    honour_ctrl_c()
    if problem := listen_problem(host, port):
        raise click.ClickException(problem)
    if data == "live":
        _check_live_credentials(os.environ)
    home = precog_home()
    server = resolve_server(home)
    sandbox = None
    try:
        migrations.upgrade(server.warehouse_url)
        sources: dict[str, str] = {}
        if data == "sandbox":
            sandbox, sources = _start_sandbox(home, sandbox_lead)
        settings = stack_environment(server, prepare_dagster_home(home), environ=os.environ | sources)
        environment = with_absolute_paths(os.environ | settings | {"PRECOG_DEV_AUTOMATION": "1"})
        # dg starts `dagster` from PATH; make it the one installed beside us.
        environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
        if sys.prefix != sys.base_prefix:
            # `.venv/bin/precog dev` runs in the venv without activating it; dg warns about the
            # mismatch unless it is told which venv is active.
            environment["VIRTUAL_ENV"] = sys.prefix
        first_start = not _has_ratings(server.warehouse_url)

        def on_ready(ui_url: str) -> None:
            if first_start:
                _backfill_ratings(ui_url)
            if sandbox is not None:
                _start_sandbox_clock_when_primed(sandbox, sandbox_speed, server.warehouse_url)

        _run_dagster(host, port, environment, embedded=server.embedded, log_path=home / "logs" / "dagster.log",
                     on_ready=on_ready)
    finally:
        if sandbox is not None:
            sandbox.stop()
        server.stop()


def _check_live_credentials(environ: Mapping[str, str]) -> None:
    """Before starting anything: a configured key must load and be accepted (one signed call),
    so that a missing file or a key of the other environment is one line now, not a failed run later."""
    settings = kalshi_settings_from_env(environ)
    if not settings.has_credentials:
        if environ.get("PRECOG_TRADING_MODE") == "live":
            raise click.ClickException(
                "PRECOG_TRADING_MODE=live needs KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH (a key of the "
                f"{settings.environment} environment)")
        return
    with KalshiClient(settings, retry_policy=RetryPolicy(max_attempts=2, max_total_seconds=15)) as client:
        client.get_balance()
    click.echo(f"Kalshi {settings.environment}: key {settings.api_key_id} accepted")


def _start_sandbox(home: Path, lead_minutes: int) -> tuple[SandboxServer, dict[str, str]]:
    """The sandbox on a free local port, its clock stopped before the first kickoff, and the
    variables that point Kalshi and ESPN at it."""
    credentials = ensure_sandbox_credentials(home / "sandbox")
    sandbox = start_sandbox(SandboxConfig(speed=0, kickoff_lead_minutes=lead_minutes,
                                          api_keys={credentials.key_id: credentials.public_key}))
    click.echo(f"Sandbox exchange at {sandbox.base_url}: a simulated NFL week, clock stopped "
               f"{lead_minutes} minutes before the first kickoff")
    return sandbox, sandbox.environment() | credentials.environment() | {"KALSHI_ENV": "demo"}


def _start_sandbox_clock_when_primed(sandbox: SandboxServer, speed: float, warehouse_url: str) -> None:
    """Let the games begin once the platform has rated teams, found edges and opened positions
    (or after a few minutes regardless), however long that took on this machine."""

    def conduct() -> None:
        primed = wait_for_positions(warehouse_url, PRIMING_TIMEOUT_SECONDS)
        sandbox.clock.set_speed(speed)
        reason = "positions are open" if primed else f"nothing opened in {PRIMING_TIMEOUT_SECONDS} s"
        click.echo(f"Sandbox clock running at {speed:g}x ({reason}): games kick off, exits and settlements follow "
                   "in the next few minutes.")

    threading.Thread(target=conduct, name="sandbox-clock", daemon=True).start()


def _has_ratings(warehouse_url: str) -> bool:
    with connect(warehouse_url) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM elo_rating_history)").fetchone()[0]


def _backfill_ratings(ui_url: str) -> None:
    """First start: rate every season from 1920 in one backfill run, so edges have ratings."""
    try:
        backfill = launch_backfill(ui_url, "elo_ratings", "Elo history, first start of precog dev")
    except RuntimeError as problem:
        click.echo(f"Could not start the Elo backfill ({problem}); launch it from the elo_ratings page.")
        return
    click.echo(f"Rating every NFL season since 1920 in one run: {ui_url}/runs/b/{backfill}")
    threading.Thread(target=_report_backfill, args=(ui_url, backfill), name="elo-backfill", daemon=True).start()


def _report_backfill(ui_url: str, backfill: str) -> None:
    """One line when the first Elo backfill ends: edges and positions need its ratings, so a
    failure must not pass for a quiet start."""
    started = time.monotonic()
    status = wait_for_backfill(ui_url, backfill, BACKFILL_TIMEOUT_SECONDS)
    if status in ("COMPLETED_SUCCESS", "COMPLETED"):
        click.echo(f"Elo ratings from 1920 to the present are stored ({time.monotonic() - started:.0f} s); edges "
                   "and positions follow.")
    elif status is not None:
        click.echo(f"The Elo backfill ended {status.lower().replace('_', ' ')}: no ratings, so no edges or "
                   f"positions. The failure is above; fix it, then open {ui_url}/assets/elo_ratings and "
                   "materialize all partitions again.")


def _run_dagster(host: str, port: int, environment: dict[str, str], *, embedded: bool, log_path: Path,
                 on_ready: Callable[[str], None] | None = None) -> None:
    # `dg dev` on the repository's workspace.yaml, started in Dagster's home: from the checkout
    # (where `dg dev` without a workspace runs) Dagster warns that the checkout's dagster.yaml is
    # not the instance's (prepare_dagster_home copies it), which no user can act on;
    # with_absolute_paths keeps relative settings meaning what they meant where precog started.
    # Dagster's own INFO lines (every sensor and schedule tick) are not logged at all, and
    # everything else (run logs, stack traces) goes to log_path: the terminal gets one line per
    # warning or failure (DagsterOutput), and every run's whole log is in the UI.
    command = [_dg_executable(), "dev", "-w", str(repository_root() / "workspace.yaml"), "-h", host,
               "-p", str(port), "--log-level", "warning"]
    # Own session: the terminal's Ctrl-C reaches only us, and we shut Dagster down in order.
    process = subprocess.Popen(command, env=environment, cwd=environment["DAGSTER_HOME"], start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    stop_requested = False
    url = f"http://{host}:{port}"
    output = DagsterOutput(process.stdout, log_path, url, click.echo, lambda: stop_requested)

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True
        if process.poll() is None:
            process.send_signal(signal.SIGINT)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if wait_until_serving(f"{url}/server_info", 180, lambda: process.poll() is None and not stop_requested):
            database = "embedded PostgreSQL" if embedded else "PostgreSQL from PRECOG_DATABASE_URL"
            click.echo(f"\nPrecog is running: Dagster UI at {url} ({database}). Press Ctrl-C to stop.\n"
                       f"Dagster's log: {log_path}\n")
            if on_ready is not None:
                on_ready(url)
        try:
            process.wait()
        except KeyboardInterrupt:
            pass
        try:
            process.wait(timeout=SHUTDOWN_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # dg dev's own session is its process group: what it leaves behind (the code server, a
        # run worker mid-step) is stopped here, not left running after "Precog stopped."
        if end_process_group(process.pid, GROUP_GRACE_SECONDS):
            click.echo("Stopped the Dagster processes that outlived dg dev (code server, run workers).")
        output.join(OUTPUT_DRAIN_SECONDS)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not stop_requested and process.returncode != 0:
        raise click.ClickException(f"dg dev exited with status {process.returncode}")
    click.echo("Precog stopped.")


@click.command()
@user_errors
def env() -> None:
    """Print shell exports for running `dagster dev` or `dg dev` yourself.

    Starts the embedded server if PRECOG_DATABASE_URL is unset and leaves it running.
    Use as: eval "$(precog env)"
    """
    home = precog_home()
    server = resolve_server(home, keep_running=True)
    require_migrated(server.warehouse_url)
    for name, value in stack_environment(server, prepare_dagster_home(home)).items():
        click.echo(f"export {name}={shlex.quote(value)}")
