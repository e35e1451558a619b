"""``precog sandbox``: serve the local Kalshi + ESPN stand-in in the foreground."""

from __future__ import annotations

import shlex
import signal
import threading
from datetime import datetime

import click

from precog_pipelines.cli.dev_stack import bind_problem
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.interrupts import honour_ctrl_c
from precog_pipelines.cli.params import ANY_PORT, HOST, SPEED
from precog_pipelines.lib.kalshi.ratelimit import TIERS
from precog_pipelines.lib.settings import precog_home
from precog_pipelines.sandbox import SandboxConfig, SandboxServer, ensure_sandbox_credentials


def _start_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as 2025-11-09T17:00Z") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs a UTC offset, e.g. 2025-11-09T17:00Z")
    return moment


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, type=HOST, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=ANY_PORT, help="Port (0 picks a free one).")
@click.option("--speed", default=60.0, show_default=True, type=SPEED,
              help="Simulated seconds per real second (60: a game and its settlement take ~3 minutes; 0 freezes).")
@click.option("--seed", default=7, show_default=True, type=int, help="Seed of the simulated week.")
@click.option("--start", "start", default=None, help="Simulated start time, ISO 8601 with offset (default: now).")
@click.option("--extra-markets", default=0, show_default=True, type=click.IntRange(0, 1_000_000),
              help="Synthetic markets to add (series KXSANDBOX), e.g. 50000 for crawl benchmarks.")
@click.option("--settled-markets", default=0, show_default=True, type=click.IntRange(0, 1_000_000),
              help="Synthetic markets (series KXSANDBOX) settled before the start, e.g. 20000 for tick benchmarks.")
@click.option("--rate-tier", default="basic", show_default=True, type=click.Choice([*TIERS, "off"]),
              help="Server-side token bucket that answers 429 when exceeded.")
@user_errors
def sandbox(host: str, port: int, speed: float, seed: int, start: str | None, extra_markets: int,
            settled_markets: int, rate_tier: str) -> None:
    """Serve a simulated NFL week as Kalshi and ESPN on one local port until Ctrl-C."""
    honour_ctrl_c()
    credentials = ensure_sandbox_credentials(precog_home() / "sandbox")
    config = SandboxConfig(
        seed=seed, start=_start_time(start), speed=speed, extra_markets=extra_markets,
        settled_markets=settled_markets,
        rate_tier=None if rate_tier == "off" else rate_tier,
        api_keys={credentials.key_id: credentials.public_key},
    )
    try:
        server = SandboxServer(config, host=host, port=port)
    except OSError as error:
        raise click.ClickException(bind_problem(host, port, error)) from None
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    try:
        exports = " ".join(f"{name}={shlex.quote(value)}"
                           for name, value in (server.environment() | credentials.environment()).items())
        click.echo(
            f"Precog sandbox: seed {seed}, {speed:g}x, simulated start {server.world.start:%Y-%m-%dT%H:%MZ}\n"
            f"  Kalshi: {server.kalshi_base_url}\n"
            f"  ESPN:   {server.espn_base_url}\n"
            f"  Admin:  {server.base_url}/_sandbox\n"
            f"Point the clients at it:\n  export {exports}\n"
            "Press Ctrl-C to stop."
        )
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    click.echo("Sandbox stopped.")
