"""The exchange's view of the account as assets: Kalshi's signed portfolio lists (orders, fills,
positions, settlements) into the warehouse, one table each, and their reconciliation with the
ledger. Each asset reads its whole list first and then writes it in one transaction."""

from collections.abc import Callable, Iterable
from typing import TypeVar

import dagster as dg

from precog_pipelines.core.metadata import markdown_table
from precog_pipelines.lib.kalshi import KalshiClient
from precog_pipelines.lib.portfolio.reconciliation import act_on, reconcile, report_markdown
from precog_pipelines.lib.portfolio.store import store_fills, store_orders, store_positions, store_settlements
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.resources.trading import AlertingResource, TradingResource, utc_now
from precog_pipelines.resources.warehouse import WarehouseResource

T = TypeVar("T")
OWNERS = ["team:precog"]
EXCHANGE_KINDS = {"kalshi", "postgres", "python"}
_CREDENTIALS = {"KALSHI_API_KEY_ID": "api_key_id", "KALSHI_PRIVATE_KEY_PATH": "private_key_path"}


def exchange_account(trading: TradingResource) -> str | None:
    """The exchange account the portfolio assets read (kalshi:demo or kalshi:prod), or None in
    paper mode without a key: paper trades never reach the exchange, so there is nothing to read.
    Live mode without a key fails, naming what is missing."""
    missing = [variable for variable, name in _CREDENTIALS.items() if not getattr(trading.kalshi, name).strip()]
    if not missing:
        return trading.accounts["live"]
    if trading.is_live:
        raise dg.Failure(
            f"PRECOG_TRADING_MODE=live: reading the exchange account (signed GET /portfolio/...) needs "
            f"{' and '.join(missing)} (a key of the {trading.kalshi.environment} environment); "
            f"{'it is' if len(missing) == 1 else 'they are'} not set", allow_retries=False)
    return None


def _read_account(trading: TradingResource, read: Callable[[KalshiClient], Iterable[T]]) -> tuple[str, list[T]] | None:
    """(account, the whole list) read before anything is written; None when there is no account."""
    account = exchange_account(trading)
    if account is None:
        return None
    with trading.kalshi.client() as client:
        return account, list(read(client))


def _skipped(trading: TradingResource) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "trading_mode": trading.trading_mode,
        "skipped": "paper trading without a Kalshi API key (KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH): paper "
                   "trades never reach the exchange, so there is no exchange account to read",
    })


@dg.asset(group_name="portfolio", kinds=EXCHANGE_KINDS, owners=OWNERS, pool="kalshi_api")
def exchange_orders(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    trading: TradingResource) -> dg.MaterializeResult:
    """Table `exchange_orders`, SCD Type 2 by (account_key, order_id): every order of the exchange
    account (signed, cursor-paginated GET /portfolio/orders), a new version when its status, fills
    or fees change. Reconciliation tells Precog's orders (their client order id recorded in
    entry_orders or exit_orders before sending) from orders placed outside Precog."""
    observed_at = utc_now()
    read = _read_account(trading, lambda client: client.iter_orders())
    if read is None:
        return _skipped(trading)
    account, orders = read
    with warehouse.connection() as conn:
        merged = store_orders(conn, account, orders, observed_at)
    context.log.info(f"{account}: {len(orders)} order(s) read, {merged.inserted} new version(s)")
    return dg.MaterializeResult(metadata={"account": account, "orders_read": len(orders),
                                          "new_orders": merged.new_keys, "changed_orders": merged.closed,
                                          "dagster/row_count": len(orders)})


@dg.asset(group_name="portfolio", kinds=EXCHANGE_KINDS, owners=OWNERS, pool="kalshi_api")
def exchange_fills(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   trading: TradingResource) -> dg.MaterializeResult:
    """Table `exchange_fills`, append-only: every fill of the exchange account (signed,
    cursor-paginated GET /portfolio/fills), stored once per fill_id (COPY into staging, then
    INSERT ... ON CONFLICT DO NOTHING): a second run stores nothing twice, a killed run nothing
    at all. Reconciliation compares the contracts filled per order with the ledger's trades."""
    read = _read_account(trading, lambda client: client.iter_fills())
    if read is None:
        return _skipped(trading)
    account, fills = read
    with warehouse.connection() as conn:
        read, new = store_fills(conn, account, fills)
    context.log.info(f"{account}: {read} fill(s) read, {new} new")
    return dg.MaterializeResult(metadata={"account": account, "fills_read": read, "new_fills": new})


@dg.asset(group_name="portfolio", kinds=EXCHANGE_KINDS, owners=OWNERS, pool="kalshi_api")
def exchange_positions(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                       trading: TradingResource) -> dg.MaterializeResult:
    """Table `exchange_positions`, SCD Type 2 by (account_key, ticker): the exchange account's
    unsettled market positions (signed, cursor-paginated GET /portfolio/positions; positive holds
    YES, negative NO), a new version when the position, exposure, P&L or fees change; a position
    the exchange no longer lists is retired (its current version closed without a successor)."""
    observed_at = utc_now()
    read = _read_account(trading, lambda client: client.iter_positions())
    if read is None:
        return _skipped(trading)
    account, held = read
    with warehouse.connection() as conn:
        merged = store_positions(conn, account, held, observed_at)
    context.log.info(f"{account}: {len(held)} position(s) read, {merged.inserted} new version(s), "
                     f"{merged.retired} retired")
    return dg.MaterializeResult(metadata={
        "account": account, "positions_read": len(held), "changed_positions": merged.inserted,
        "retired_positions": merged.retired,
        "positions": markdown_table([{"ticker": p.ticker, "position": p.position, "exposure": p.market_exposure}
                                     for p in held]),
        "dagster/row_count": len(held)})


@dg.asset(group_name="portfolio", kinds=EXCHANGE_KINDS, owners=OWNERS, pool="kalshi_api")
def exchange_settlements(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                         trading: TradingResource) -> dg.MaterializeResult:
    """Table `exchange_settlements`, append-only: every settled market of the exchange account
    (signed, cursor-paginated GET /portfolio/settlements; revenue and value converted from cents to
    dollars), stored once per market (Kalshi gives a settlement no id; a market settles once).
    Reconciliation compares the contracts settled with the ledger's settled live positions."""
    read = _read_account(trading, lambda client: client.iter_settlements())
    if read is None:
        return _skipped(trading)
    account, settled = read
    with warehouse.connection() as conn:
        read, new = store_settlements(conn, account, settled)
    context.log.info(f"{account}: {read} settlement(s) read, {new} new")
    return dg.MaterializeResult(metadata={"account": account, "settlements_read": read, "new_settlements": new})


@dg.asset(group_name="portfolio", kinds={"postgres", "python"}, owners=OWNERS,
          deps=[exchange_orders, exchange_fills, exchange_positions, exchange_settlements])
def reconciliation(context: dg.AssetExecutionContext, warehouse: WarehouseResource, trading: TradingResource,
                   alerting: AlertingResource) -> dg.MaterializeResult:
    """Table `reconciliations`, append-only: compares the exchange account with the ledger's live
    positions (contracts per market and side), trades (contracts per exchange order id) and
    settlements. A difference seen in two runs in a row, or caused by an order placed outside
    Precog, is confirmed: in live mode a critical alert names the ticker, both numbers and the
    fills behind them, and new entries halt (exits go on); the exchange_and_ledger_agree check
    fails. Paper mode compares the same live ledger (paper trades never reach the exchange) and
    only warns."""
    account = exchange_account(trading)
    if account is None:
        return _skipped(trading)
    with warehouse.connection() as conn:
        result = reconcile(conn, account, trading.trading_mode, context.run.run_id)
        alert, _ = act_on(conn, result)
        conn.commit()
        if alert is not None:
            alerting.notify(conn, alert)
            conn.commit()
        state = trading_state(conn)
    if result.confirmed:
        context.log.error(result.summary())
    elif result.differences:
        context.log.warning(result.summary())
    return dg.MaterializeResult(metadata={
        "account": account,
        "trading_mode": trading.trading_mode,
        "passed": result.passed,
        "summary": result.summary(),
        "differences": len(result.differences),
        "confirmed_differences": len(result.confirmed),
        "report": dg.MetadataValue.md(report_markdown(result)),
        "trading_state": state.describe(),
        **{name: count for name, count in result.counts.items()},
    })
