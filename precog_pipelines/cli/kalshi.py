"""``precog kalshi``: the account balance and market crawls, against Kalshi or the sandbox.

Configured by ``KALSHI_ENV`` / ``KALSHI_API_BASE_URL`` / ``KALSHI_API_KEY_ID`` /
``KALSHI_PRIVATE_KEY_PATH`` (see the README).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import click

from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.params import TICKER, output_file
from precog_pipelines.lib.kalshi import KalshiClient, KalshiParseError, parse_market
from precog_pipelines.lib.kalshi.client import MARKET_STATUS_FILTERS


@click.group()
def kalshi() -> None:
    """Talk to Kalshi (demo by default; KALSHI_API_BASE_URL points it at the sandbox)."""


def format_dollars(amount: Decimal) -> str:
    """``$1,234.50``; sub-cent amounts keep their digits (``$0.1234``)."""
    places = max(2, -int(amount.normalize().as_tuple().exponent))
    return f"${amount:,.{places}f}"


@kalshi.command()
@user_errors
def balance() -> None:
    """Print the account's cash balance in dollars (a signed call)."""
    with KalshiClient.from_env() as client:
        account = client.get_balance()
        where = client.settings.base_url
    click.echo(
        f"Balance: {format_dollars(account.balance)} "
        f"(positions worth {format_dollars(account.portfolio_value)}) at {where}"
    )


@kalshi.command()
@click.option("--series-ticker", required=True, type=TICKER, help="Series to crawl, e.g. KXNFLGAME.")
@click.option("--status", type=click.Choice(sorted(MARKET_STATUS_FILTERS)), help="One status filter.")
@click.option("--event-ticker", type=TICKER, help="Only the markets of this event.")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), callback=output_file,
    help="Write each market's raw JSON, one per line (JSONL); the file appears only when the crawl completes.",
)
@user_errors
def markets(series_ticker: str, status: str | None, event_ticker: str | None, output: Path | None) -> None:
    """Crawl every page of a series' markets and report how many there are."""
    invalid: list[str] = []
    fetched = 0
    partial = output.with_name(output.name + ".partial") if output else None
    try:
        out_file = open(partial, "w", encoding="utf-8") if partial else _NoFile()  # noqa: SIM115 (closed below)
    except OSError as error:
        raise click.ClickException(f"{output}: cannot be written ({error.strerror or error})") from None
    try:
        with out_file as out, KalshiClient.from_env() as client:
            for payload in client.iter_market_payloads(
                series_ticker=series_ticker, event_ticker=event_ticker, status=status
            ):
                fetched += 1
                out.write(json.dumps(payload) + "\n")
                try:
                    parse_market(payload)
                except KalshiParseError as error:
                    invalid.append(str(error))
    except BaseException:
        if partial:
            partial.unlink(missing_ok=True)
        raise
    if partial and output:
        os.replace(partial, output)
    filters = "".join(f" {name}={value}" for name, value in (("status", status), ("event", event_ticker)) if value)
    destination = f", written to {output}" if output else ""
    click.echo(f"{fetched} markets in series {series_ticker}{filters}{destination}")
    if invalid:
        click.echo(f"warning: {len(invalid)} of them failed validation, e.g. {invalid[0]}", err=True)


class _NoFile:
    def __enter__(self) -> _NoFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def write(self, _text: str) -> None:
        return None
