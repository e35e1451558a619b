"""Jobs the trading sensors launch: exit one position, settle one market."""

import dagster as dg
from pydantic import Field

from precog_pipelines.defs.trading.book_metadata import book_metadata
from precog_pipelines.lib.trading.exit_flow import ExitsHalted, exit_position
from precog_pipelines.lib.trading.exits import RULE_PRIORITY
from precog_pipelines.lib.trading.settlement import settle_market
from precog_pipelines.lib.trading.strategy import load_strategy
from precog_pipelines.resources.trading import TradingResource, utc_now
from precog_pipelines.resources.warehouse import WarehouseResource

POSITIONS = dg.AssetKey("positions")


class ExitPositionConfig(dg.Config):
    position_key: str = Field(description="positions.position_key of the position to sell.")
    rule: str = Field(description="Exit rule that fired: " + ", ".join(RULE_PRIORITY) + ".")
    priority: int = Field(description="1 is most urgent (stop loss).")


@dg.op(tags={"kind": "postgres"})
def exit_position_op(context: dg.OpExecutionContext, config: ExitPositionConfig, warehouse: WarehouseResource,
                     trading: TradingResource) -> None:
    """Sell one open position: a limit at the bid, then a tick lower each retry, then a market
    order; every attempt is logged in exit_attempts and a fill is booked once. A fill of part of
    the position books those contracts and the walk goes on for the rest; contracts still left
    when it ends keep the position open (the run succeeds, reporting a partial exit) and the exit
    sensor requests the rest while the rule fires. A halt that
    blocks exits (`precog trading halt --block-exits`) fails the run before any order; the exit
    sensor asks again after the resume while the rule still fires."""
    if config.rule not in RULE_PRIORITY:
        raise dg.Failure(f"rule {config.rule!r} is not one of {', '.join(RULE_PRIORITY)}")
    with warehouse.connection() as conn, trading.executor() as executor:
        position = conn.execute("SELECT strategy_id FROM positions WHERE position_key = %s LIMIT 1",
                                (config.position_key,)).fetchone()
        if position is None:
            raise dg.Failure(f"position_key {config.position_key!r} does not exist")
        strategy = load_strategy(conn, strategy_id=position[0])
        conn.commit()
        try:
            outcome = exit_position(
                conn, config.position_key, config.rule, strategy.limit_attempts, executor,
                trading.account, context.run.run_id, utc_now,
                pause_seconds=0 if not trading.is_live else trading.exit_pause_seconds,
                max_order_errors=trading.halt_after_order_errors,
            )
        except ExitsHalted as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        after_run = book_metadata(conn, trading.trading_mode) if outcome.status in ("exited", "partially_exited") else {}
    context.log.info(f"{config.position_key}: {outcome.status} after {outcome.attempts} attempt(s)")
    if outcome.status in ("exited", "partially_exited"):
        partly = "partial " if outcome.status == "partially_exited" else ""
        metadata = {
            "position_key": config.position_key, "rule": config.rule, "attempts": outcome.attempts,
            "status": outcome.status, "contracts_sold": str(outcome.sold), "contracts_left": str(outcome.remaining),
            "fill_price": str(outcome.fill_price), "exit_realized_pnl": str(outcome.realized_pnl), **after_run,
        }
        context.log_event(dg.AssetMaterialization(POSITIONS, description=f"{partly}exit of {config.position_key}",
                                                  metadata=metadata))


@dg.job(tags={"precog/component": "trading"})
def position_exit_job() -> None:
    """Exit one position whose exit rule fired (launched by position_exit_sensor)."""
    exit_position_op()


class SettleMarketConfig(dg.Config):
    ticker: str = Field(description="Ticker of the market whose result is known.")


@dg.op(tags={"kind": "postgres"})
def settle_market_op(
    context: dg.OpExecutionContext, config: SettleMarketConfig, warehouse: WarehouseResource,
    trading: TradingResource,
) -> None:
    """Record the market's settlement once and close every open position on it with its realized
    P&L (a partly exited position settles the contracts it still holds; its P&L adds its exit
    fills), paying the settlement value into the position's account. In live mode the exchange's
    settlement record (GET /portfolio/settlements) is stored as the raw response."""
    exchange_record = None
    if trading.is_live:
        with trading.kalshi.client() as client:
            exchange_record = next(iter(client.iter_settlement_payloads(ticker=config.ticker)), None)
    with warehouse.connection() as conn:
        result = settle_market(conn, config.ticker, trading.accounts, utc_now(), exchange_record)
        conn.commit()
        after_run = book_metadata(conn, trading.trading_mode) if result.positions else {}
    context.log.info(f"{config.ticker}: settlement {'recorded' if result.recorded else 'already recorded'}, "
                     f"{len(result.positions)} position(s) closed")
    if result.positions:
        context.log_event(dg.AssetMaterialization(POSITIONS, description=f"settlement of {config.ticker}", metadata={
            "ticker": config.ticker, "result": result.market_result,
            "positions_settled": len(result.positions),
            "settlement_realized_pnl": str(sum(pnl for _, pnl in result.positions)), **after_run,
        }))


@dg.job(tags={"precog/component": "trading"})
def settlement_job() -> None:
    """Settle one market whose result is determined (launched by market_settlement_sensor)."""
    settle_market_op()
