"""Trading tables as assets: the positions (from edges) and the cash balance they leave."""

from decimal import Decimal

import dagster as dg
from pydantic import Field

from precog_pipelines.core.automation import UPSTREAM_CHECKED
from precog_pipelines.core.metadata import markdown_table, plotted_amount
from precog_pipelines.defs.trading.book_metadata import book_metadata
from precog_pipelines.lib.elo.store import EloModelNotFound, active_models
from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.breakers import trip_on_stale_market_data
from precog_pipelines.lib.trading.edge_snapshot import LEAGUE
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.lib.trading.opening import EntryOrderFailed, open_positions
from precog_pipelines.lib.trading.order_recovery import recover_entry_orders
from precog_pipelines.lib.trading.performance import strategy_summary
from precog_pipelines.lib.trading.risk import LIMIT_UNITS
from precog_pipelines.lib.trading.strategy import load_strategy
from precog_pipelines.lib.versions.store import positions_by_model
from precog_pipelines.resources.trading import AlertingResource, TradingResource, utc_now
from precog_pipelines.resources.warehouse import WarehouseResource

OWNERS = ["team:precog"]


@dg.asset(group_name="trading", kinds={"kalshi", "postgres", "python"}, owners=OWNERS, pool="kalshi_api",
          deps=["positions"], automation_condition=dg.AutomationCondition.eager())
def account_balance(context: dg.AssetExecutionContext, warehouse: WarehouseResource, trading: TradingResource) -> dg.MaterializeResult:
    """Table `account_balance`: cash in dollars per account as SCD Type 2 history (kalshi:paper,
    kalshi:demo, kalshi:prod). Every entry, exit and settlement writes a new version in the same
    transaction as its trade; this asset runs after each of them (positions materialized, by the
    positions asset or by an exit or settlement job) and shows the balance they left. In live
    mode it first syncs the exchange's balance (a signed GET /portfolio/balance), as a new
    version only when it differs. Its checks: the SCD Type 2 invariants, and the paper balance
    equal to the initial cash plus the ledger's entries, exits and settlement payouts."""
    if trading.is_live:
        with trading.kalshi.client() as client:
            exchange = client.get_balance()
        with warehouse.connection() as conn:
            ledger.record_balance(conn, trading.account, "live", exchange.balance, exchange.portfolio_value,
                                  utc_now())
        context.log.info(f"{trading.account}: exchange balance {exchange.balance} dollars")
    with warehouse.connection() as conn:
        rows = conn.execute(
            "SELECT account_key, balance, portfolio_value, change_reason, row_start_ts, "
            "(SELECT count(*) FROM account_balance h WHERE h.account_key = c.account_key) "
            "FROM account_balance_current c ORDER BY account_key").fetchall()
    balance = next((r[1] for r in rows if r[0] == trading.account), None)
    return dg.MaterializeResult(metadata={
        "trading_mode": trading.trading_mode,
        "account": trading.account,
        # The same keys every time, so Dagster plots the balance over the materializations.
        "balance": plotted_amount(balance if balance is not None else Decimal(0)),
        "balance_exact": str(balance) if balance is not None else "no balance yet",
        "accounts": markdown_table([{"account": r[0], "balance": r[1], "portfolio_value": r[2],
                                     "last_change": r[3], "since": r[4], "versions": r[5]} for r in rows]),
        "dagster/row_count": sum(r[5] for r in rows),
    })


# Written by position_exit_sensor, not by a run: the sensor reports a materialization of this
# asset whenever it stores a changed mark, so its page always shows the book as last marked.
position_marks = dg.AssetSpec(
    "position_marks", deps=["positions"], group_name="trading", kinds={"postgres", "python"}, owners=OWNERS,
    description="Table `position_marks` (append-only): what each open position is worth now. Every evaluation "
                "of position_exit_sensor (every 30 seconds, also while trading is halted) values each open "
                "position at the bid of the side held and appends a mark where the mark, the peak since entry "
                "or the unrealized P&L changed; the sensor then reports a materialization of this asset with "
                "the book as it stands: the open positions with their mark, unrealized P&L (a taker sale at "
                "the mark, net of fees) and age, exposure and realized P&L to date, as numbers Dagster plots "
                "over time. The `positions` page shows the book as of its last trade, this page as of the "
                "last price move. Nothing materializes it from the UI: the sensor does.",
)


class PositionsConfig(dg.Config):
    strategy: str = Field(default="default_paper", description="Name of the strategy to trade (its newest "
                                                               "active version).")


@dg.asset(group_name="trading", kinds={"kalshi", "postgres", "python"}, owners=OWNERS, deps=["edges"],
          automation_condition=UPSTREAM_CHECKED, pool="trading")
def positions(context: dg.AssetExecutionContext, config: PositionsConfig, warehouse: WarehouseResource,
              trading: TradingResource, alerting: AlertingResource) -> dg.MaterializeResult:
    """Table `positions`, SCD Type 2 by position key: opens a position for each current edge of an
    active model version at or above the strategy's minimum edge, best first, one per game and
    within the strategy version's risk limits (daily realized loss, open exposure in total, per
    game and per series, contracts per order, orders per minute), checked before every entry
    order: a refused entry is a `risk_refusals` row and a warning alert (sent to the channels the
    alert routing names once the run has traded), and reaching the daily
    loss limit halts trading until a person resumes. Records the entry trade (append-only) and
    the cash paid. Paper
    trading (the default) fills at the current executable price; live trading
    (PRECOG_TRADING_MODE=live) sends an immediate-or-cancel order to Kalshi, to the demo exchange
    unless KALSHI_ENV=prod. Exits and settlements close positions later (position_exit_job,
    settlement_job). While trading is halted (`precog trading halt`, or a circuit breaker: order
    errors, stale market data under open positions...) it sends no order and says why in
    `trading_state` and `skipped`; the `trading_is_not_halted` check warns with the reason.
    Every materialization of `positions` (this asset's, each exit's, each settlement's) ends with
    the same picture of the trading mode's book after it: the open positions with their latest
    mark (position_marks, written by position_exit_sensor), unrealized P&L and age, and
    `open_positions`, `exposure`, `unrealized_pnl` and `realized_pnl_to_date` as numbers Dagster
    plots over time; what the run itself did has its own keys (`opened`, `skipped`...)."""
    with warehouse.connection() as conn, trading.executor() as executor:
        # The stale-data breaker first: entries must not price off a book that stopped moving.
        trip_on_stale_market_data(conn, utc_now(), trading.halt_stale_market_minutes, actor="positions")
        conn.commit()
        strategy = load_strategy(conn, name=config.strategy)
        conn.commit()
        # Orders a crashed run sent but never booked are booked from the exchange first, and
        # before the balance sync (which already counts what they cost).
        recovered = recover_entry_orders(conn, strategy, executor, trading.trading_mode, trading.account, utc_now)
        if recovered.count:
            context.log.warning(f"booked {recovered.count} entry order(s) a crashed run left unconfirmed: "
                                f"{len(recovered.filled)} filled, {len(recovered.not_filled)} not filled")
        executor.sync_balance(conn, trading.account, utc_now())
        try:
            models = active_models(conn, LEAGUE)
        except EloModelNotFound as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        conn.commit()
        try:
            report = open_positions(conn, strategy, [model.id for model in models], executor, trading.trading_mode,
                                    trading.account, utc_now, max_order_errors=trading.halt_after_order_errors)
        except EntryOrderFailed as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        # The refusals' alerts are committed; their channels are told once trading is done.
        for alert in report.alerts:
            alerting.notify(conn, alert)
            conn.commit()
        summary = strategy_summary(conn, strategy.id)
        by_model = positions_by_model(conn, strategy.id)
        state = trading_state(conn)
        after_run = book_metadata(conn, trading.trading_mode)
    context.log.info(f"{strategy.name} v{strategy.version}: opened {len(report.opened)} position(s)")
    return dg.MaterializeResult(metadata={
        "strategy": f"{strategy.name} v{strategy.version}",
        "models": ", ".join(model.label for model in models),
        "trading_mode": trading.trading_mode,
        "trading_state": state.describe(),
        "halted_since": state.since.isoformat(timespec="seconds") if state.halted and state.since else "",
        "halted_by": (f"{state.actor} ({state.source})" if state.halted else ""),
        "exits": "blocked" if not state.exits_allowed else "allowed",
        "opened": len(report.opened),
        "opened_positions": markdown_table([{"position": key} for key in report.opened]),
        "skipped": markdown_table([{"reason": reason, "edges": n} for reason, n in report.skipped.items()]),
        "open_exposure": str(report.exposure_after),
        "exposure_limit": str(strategy.max_open_exposure),
        "realized_loss_today": str(report.realized_loss_today),
        "risk_limits": markdown_table([{"limit": name, "value": _or_none(getattr(strategy.limits, name)), "unit": unit}
                                       for name, unit in LIMIT_UNITS.items()]),
        "risk_refusals": markdown_table([{"limit": r.limit, "limit_value": r.limit_value, "would_be": r.would_be,
                                          "unit": r.unit} for r in report.refused]),
        **after_run,
        # A position records its edge, the edge its model version: which version opened what.
        "positions_by_model": markdown_table(by_model),
        "dagster/row_count": summary.open_positions + summary.closed_positions,
    })



def _or_none(value: object) -> object:
    return "no limit" if value is None else value
