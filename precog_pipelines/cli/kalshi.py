"""``precog kalshi``: the account balance, the market crawls and the portfolio lists (positions,
fills, orders, settlements), against Kalshi or the sandbox.

Configured by ``KALSHI_ENV`` / ``KALSHI_API_BASE_URL`` / ``KALSHI_API_KEY_ID`` /
``KALSHI_PRIVATE_KEY_PATH`` (see the README).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.params import TICKER, UTC_TIME, output_file
from precog_pipelines.lib.kalshi import KalshiClient, KalshiParseError, parse_market
from precog_pipelines.lib.kalshi.client import MARKET_STATUS_FILTERS, PORTFOLIO_PAGE_LIMIT
from precog_pipelines.lib.kalshi.models import MarketPosition
from precog_pipelines.lib.kalshi.parse import parse_fill, parse_market_position, parse_order, parse_settlement
from precog_pipelines.lib.trading.money import contract_count

OUTPUT_OPTION = click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), callback=output_file,
    help="Write each record's raw JSON, one per line (JSONL); the file appears only when the crawl completes.",
)


@click.group()
def kalshi() -> None:
    """Talk to Kalshi (demo by default; KALSHI_API_BASE_URL points it at the sandbox)."""


def format_dollars(amount: Decimal) -> str:
    """``$1,234.50``, ``-$3.20``; sub-cent amounts keep their digits (``$0.1234``)."""
    places = max(2, -int(amount.normalize().as_tuple().exponent))
    return f"{'-' if amount < 0 else ''}${abs(amount):,.{places}f}"


def _time(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}" if moment else ""


@contextmanager
def jsonl_once_complete(output: Path | None) -> Iterator[Callable[[Any], None]]:
    """Yield a function writing one JSON line to ``output``, which appears only if the block completes.

    The lines go to a temporary file in the same folder (so the final rename is atomic and never
    crosses file systems); an error, Ctrl-C or crash before the end leaves no file, and an
    earlier file of that name untouched. Without ``output`` the function does nothing.
    """
    if output is None:
        yield lambda _payload: None
        return
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, renamed or removed)
            "w", encoding="utf-8", dir=output.parent, prefix=f".{output.name}.", suffix=".partial", delete=False
        )
    except OSError as error:
        raise click.ClickException(f"{output}: cannot be written ({error.strerror or error})") from None
    partial = Path(handle.name)

    def write(payload: Any) -> None:
        try:
            handle.write(json.dumps(payload) + "\n")
        except OSError as error:
            raise click.ClickException(f"{output}: cannot be written ({error.strerror or error})") from None

    try:
        with handle:
            yield write
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


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
@OUTPUT_OPTION
@user_errors
def markets(series_ticker: str, status: str | None, event_ticker: str | None, output: Path | None) -> None:
    """Crawl every page of a series' markets and report how many there are."""
    invalid: list[str] = []
    fetched = 0
    with KalshiClient.from_env() as client, jsonl_once_complete(output) as write:
        for payload in client.iter_market_payloads(series_ticker=series_ticker, event_ticker=event_ticker, status=status):
            fetched += 1
            write(payload)
            try:
                parse_market(payload)
            except KalshiParseError as error:
                invalid.append(str(error))
    filters = "".join(f" {name}={value}" for name, value in (("status", status), ("event", event_ticker)) if value)
    destination = f", written to {output}" if output else ""
    click.echo(f"{fetched} markets in series {series_ticker}{filters}{destination}")
    _warn_invalid(invalid)


def _warn_invalid(invalid: list[str]) -> None:
    if invalid:
        click.echo(f"warning: {len(invalid)} of them failed validation, e.g. {invalid[0]}", err=True)


# ---- the portfolio lists ------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioList:
    """What differs between the portfolio commands: the endpoint, the parser, the table columns
    and what ``--since`` means. ``filter_since_locally`` is for an endpoint without a time filter
    (positions): the records are then kept by ``moment``."""

    noun: str
    help: str
    since_meaning: str
    payloads: Callable[..., Iterator[Any]]  # a KalshiClient.iter_*_payloads method
    parse: Callable[[Any], Any]
    columns: tuple[tuple[str, Callable[[Any], str]], ...]
    filter_since_locally: bool = False
    moment: Callable[[Any], datetime | None] = lambda _record: None

    def crawl(self, client: KalshiClient, ticker: str | None, since: datetime | None, page_size: int) -> Iterator[Any]:
        """Every page of the list; ``since`` goes to the server as ``min_ts`` where the endpoint has it."""
        on_server = {"min_ts": int(since.timestamp())} if since and not self.filter_since_locally else {}
        return self.payloads(client, ticker=ticker, limit=page_size, **on_server)


def _held(position: MarketPosition) -> str:
    """``10 YES``, ``4 NO`` (a negative position holds NO), or ``0`` for a market traded flat."""
    side = "YES" if position.position > 0 else "NO" if position.position < 0 else ""
    return f"{contract_count(abs(position.position))} {side}".rstrip()


POSITIONS = PortfolioList(
    noun="positions",
    help="List the account's open (unsettled) market positions; settled ones are under `settlements`.",
    since_meaning="positions last changed",
    payloads=KalshiClient.iter_position_payloads,
    parse=parse_market_position,
    columns=(
        ("ticker", lambda p: p.ticker),
        ("held", _held),
        ("exposure", lambda p: format_dollars(p.market_exposure)),
        ("realized P&L", lambda p: format_dollars(p.realized_pnl)),
        ("fees", lambda p: format_dollars(p.fees_paid)),
        ("traded", lambda p: format_dollars(p.total_traded)),
        ("updated", lambda p: _time(p.last_updated_ts)),
    ),
    filter_since_locally=True,
    moment=lambda p: p.last_updated_ts,
)

FILLS = PortfolioList(
    noun="fills",
    help="List the account's fills (each execution of an order), newest first as the exchange sends them.",
    since_meaning="fills created",
    payloads=KalshiClient.iter_fill_payloads,
    parse=parse_fill,
    columns=(
        ("time", lambda f: _time(f.created_time)),
        ("ticker", lambda f: f.ticker),
        ("side", lambda f: f.outcome_side.upper()),
        ("book", lambda f: f.book_side),
        ("count", lambda f: contract_count(f.count)),
        ("yes price", lambda f: format_dollars(f.yes_price)),
        ("fee", lambda f: format_dollars(f.fee_cost)),
        ("role", lambda f: "taker" if f.is_taker else "maker"),
        ("order id", lambda f: f.order_id),
    ),
)

ORDERS = PortfolioList(
    noun="orders",
    help="List the account's orders (resting, canceled and executed).",
    since_meaning="orders created",
    payloads=KalshiClient.iter_order_payloads,
    parse=parse_order,
    columns=(
        ("created", lambda o: _time(o.created_time)),
        ("ticker", lambda o: o.ticker),
        ("status", lambda o: o.status),
        ("book", lambda o: o.book_side),
        ("yes price", lambda o: format_dollars(o.yes_price)),
        ("filled", lambda o: f"{contract_count(o.fill_count)}/{contract_count(o.initial_count)}"),
        ("remaining", lambda o: contract_count(o.remaining_count)),
        ("cost", lambda o: format_dollars(o.taker_fill_cost + o.maker_fill_cost)),
        ("fees", lambda o: format_dollars(o.taker_fees + o.maker_fees)),
        ("order id", lambda o: o.order_id),
    ),
)

SETTLEMENTS = PortfolioList(
    noun="settlements",
    help="List the account's settled markets and what each paid.",
    since_meaning="markets settled",
    payloads=KalshiClient.iter_settlement_payloads,
    parse=parse_settlement,
    columns=(
        ("settled", lambda s: _time(s.settled_time)),
        ("ticker", lambda s: s.ticker),
        ("result", lambda s: s.market_result),
        ("yes", lambda s: contract_count(s.yes_count)),
        ("no", lambda s: contract_count(s.no_count)),
        ("cost", lambda s: format_dollars(s.yes_total_cost + s.no_total_cost)),
        ("revenue", lambda s: format_dollars(s.revenue)),
        ("fees", lambda s: format_dollars(s.fee_cost)),
    ),
)


def _register(spec: PortfolioList) -> None:
    """One ``precog kalshi <noun>`` command for a portfolio list: the options, the crawl, the output."""

    @kalshi.command(name=spec.noun, help=spec.help)
    @click.option("--ticker", type=TICKER, help="Only this market, e.g. KXNFLGAME-25NOV09DETWAS-WAS.")
    @click.option("--since", type=UTC_TIME, help=f"Only {spec.since_meaning} at or after this UTC date/time, "
                  f"e.g. {UTC_TIME.EXAMPLE}.")
    @OUTPUT_OPTION
    @click.option("--page-size", type=click.IntRange(1, PORTFOLIO_PAGE_LIMIT), default=PORTFOLIO_PAGE_LIMIT,
                  show_default=True, help="Records per request; the command follows the cursor to the last page.")
    @user_errors
    def command(ticker: str | None, since: datetime | None, output: Path | None, page_size: int) -> None:
        rows, invalid = [], []
        with KalshiClient.from_env() as client, jsonl_once_complete(output) as write:
            for payload in spec.crawl(client, ticker, since, page_size):
                try:
                    record = spec.parse(payload)
                except KalshiParseError as error:
                    invalid.append(str(error))  # kept in the file as received; it cannot be shown
                else:
                    if since and spec.filter_since_locally and not _at_or_after(spec.moment(record), since):
                        continue
                    rows.append(record)
                write(payload)
        filters = "".join(f" {name}={value}" for name, value in (("ticker", ticker), ("since", since and _time(since)))
                          if value)
        if output:
            click.echo(f"{len(rows) + len(invalid)} {spec.noun}{filters}, written to {output}")
        else:
            if rows:
                click.echo(tabulate([[show(row) for _, show in spec.columns] for row in rows],
                                    headers=[title for title, _ in spec.columns], disable_numparse=True))
            click.echo(f"{len(rows)} {spec.noun}{filters}")
        _warn_invalid(invalid)



def _at_or_after(moment: datetime | None, since: datetime) -> bool:
    return moment is not None and moment >= since


for _spec in (POSITIONS, FILLS, ORDERS, SETTLEMENTS):
    _register(_spec)
