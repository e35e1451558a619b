"""``precog positions``: the open positions with their latest mark, unrealized P&L and age (the
``open_positions`` view; the marks are written by the exit sensor every 30 seconds)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from precog_pipelines.cli.db import _URL_OPTION as database_url_option
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.kalshi import format_dollars
from precog_pipelines.cli.model import warehouse_connection
from precog_pipelines.cli.params import output_file
from precog_pipelines.lib.trading.marks import describe_age, open_positions

_HEADERS = ("position", "ticker", "side", "qty", "entry", "mark", "peak", "unrealized P&L", "cost", "strategy",
            "mode", "opened", "age", "marked")


def _dollars(amount: Decimal) -> str:
    return "-" + format_dollars(-amount) if amount < 0 else format_dollars(amount)


def _when(at: datetime | None) -> str:
    return "" if at is None else at.isoformat(timespec="seconds")


def _terminal_row(row: dict[str, Any]) -> tuple[Any, ...]:
    unmarked = row["mark_price"] is None
    return (row["position_key"], row["ticker"], row["side"], row["quantity"], row["entry_price"],
            "not yet" if unmarked else row["mark_price"], "" if unmarked else row["peak_price"],
            "" if unmarked else _dollars(row["unrealized_pnl"]), format_dollars(row["cost"]),
            f"{row['strategy']} v{row['strategy_version']}",
            row["trading_mode"], _when(row["opened_at"]), describe_age(row["age"]), _when(row["marked_at"]))


def _json_value(value: Any) -> Any:
    # Money stays exact: a Decimal is written as its string, never as a float.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value


def _write_jsonl(output: Path, rows: list[dict[str, Any]]) -> None:
    """Write beside the file, then rename: the file appears only complete."""
    partial = output.with_name(output.name + ".partial")
    try:
        with open(partial, "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps({"age_seconds" if k == "age" else k: _json_value(v) for k, v in row.items()})
                          + "\n")
        os.replace(partial, output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"{output}: cannot be written ({error.strerror or error})") from None


@click.command()
@click.option("--mode", type=click.Choice(["paper", "live"]), help="Only the positions of this trading mode.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), callback=output_file,
              help="Also write each open position as one JSON object per line (JSONL; money as exact strings).")
@database_url_option
@user_errors
def positions(mode: str | None, output: Path | None, database_url: str | None) -> None:
    """Print the open positions: the bid of the side held (mark), the peak, the unrealized P&L
    (what selling everything now at the mark would book, net of the entry fee and the taker fee
    of that sale), the cost, and the age."""
    with warehouse_connection(database_url) as conn:
        rows = open_positions(conn, mode)
    if output:
        _write_jsonl(output, rows)
    if not rows:
        click.echo("no open positions" + (f" in {mode} mode" if mode else ""))
    else:
        click.echo(tabulate([_terminal_row(r) for r in rows], headers=_HEADERS, disable_numparse=True))
        marked = [r["unrealized_pnl"] for r in rows if r["unrealized_pnl"] is not None]
        unmarked = len(rows) - len(marked)
        click.echo(f"{len(rows)} open position(s), cost {format_dollars(sum(r['cost'] for r in rows))}, unrealized "
                   f"P&L {_dollars(sum(marked, Decimal(0)))}" + (f" ({unmarked} not marked yet)" if unmarked else ""))
    if output:
        click.echo(f"written to {output}")
