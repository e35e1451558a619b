"""``precog trading``: the kill switch. Halt new entries (and, if asked, exits), resume, see the state.

Each command writes or reads the append-only ``trading_halts`` log (lib/trading/halts.py); the
running pipeline reads it before every order, so a halt takes effect at the next order the
positions asset or an exit job would send. The actor recorded is the operating-system user.
"""

from __future__ import annotations

import click

from precog_pipelines.cli.db import _URL_OPTION as database_url_option
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.model import warehouse_connection
from precog_pipelines.cli.params import operating_system_user
from precog_pipelines.lib.trading.breakers import consecutive_order_errors
from precog_pipelines.lib.trading.halts import TradingState, halt_trading, resume_trading, trading_state


def _state_line(state: TradingState) -> str:
    if not state.halted:
        since = f" since {state.since.isoformat(timespec='seconds')}" if state.since else ""
        return f"trading{since}: entries and exits allowed"
    exits = "exits blocked" if state.blocks_exits else "exits go on"
    return (f"{state.describe()} (by {state.actor}, {state.source}, since "
            f"{state.since.isoformat(timespec='seconds')}); no entries, {exits}")


@click.group()
def trading() -> None:
    """The kill switch: halt and resume new entries, and show the trading state."""


@trading.command()
@click.option("--reason", required=True, help="Why (recorded with the halt and shown in the UI).")
@click.option("--block-exits", is_flag=True, help="Stop exit orders too (settlements are still booked).")
@database_url_option
@user_errors
def halt(reason: str, block_exits: bool, database_url: str | None) -> None:
    """Halt trading: no entry order is sent until `precog trading resume`."""
    if not reason.strip():
        raise click.BadParameter("a halt needs a reason", param_hint="--reason")
    with warehouse_connection(database_url) as conn:
        before = trading_state(conn)
        state = halt_trading(conn, reason, "manual", operating_system_user(), blocks_exits=block_exits)
        conn.commit()
    if before.halted:
        click.echo(f"was already {before.describe()}; recorded a new halt")
    click.echo(_state_line(state))


@trading.command()
@click.option("--reason", default="resumed by hand", show_default=True, help="Why trading may go on.")
@database_url_option
@user_errors
def resume(reason: str, database_url: str | None) -> None:
    """Resume trading after a halt (manual or by a circuit breaker)."""
    with warehouse_connection(database_url) as conn:
        before = trading_state(conn)
        state = resume_trading(conn, operating_system_user(), reason)
        conn.commit()
    if not before.halted:
        click.echo("was not halted; nothing recorded")
    else:
        click.echo(f"resumed (was {before.describe()})")
    click.echo(_state_line(state))


@trading.command()
@database_url_option
@user_errors
def status(database_url: str | None) -> None:
    """Show whether trading is halted, why, by whom and since when."""
    with warehouse_connection(database_url) as conn:
        state = trading_state(conn)
        errors = consecutive_order_errors(conn)
    click.echo(_state_line(state))
    click.echo(f"consecutive order errors: {errors}")
