"""Edges: where the model disagrees with the market by more than the fee."""

from datetime import datetime, timezone
from decimal import Decimal

import dagster as dg
from pydantic import Field

from precog_pipelines.core.automation import UPSTREAM_CHECKED
from precog_pipelines.core.metadata import markdown_table
from precog_pipelines.lib.elo.store import EloModelNotFound, active_models
from precog_pipelines.lib.trading.edge_run import refresh_edges
from precog_pipelines.lib.trading.edge_snapshot import LEAGUE
from precog_pipelines.resources.warehouse import WarehouseResource


class EdgesConfig(dg.Config):
    fee_basis_contracts: int = Field(
        default=100, description="Order size whose rounded-up taker fee the edge is net of (capped by the "
                                 "resting size): the fee per contract of a typical order, not of one contract.")


@dg.asset(
    group_name="edges",
    kinds={"postgres", "python"},
    owners=["team:precog"],
    deps=["kalshi_markets", "game_states",
          dg.AssetDep("elo_ratings", partition_mapping=dg.LastPartitionMapping())],
    automation_condition=UPSTREAM_CHECKED,
)
def edges(context: dg.AssetExecutionContext, config: EdgesConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Table `edges`, SCD Type 2 by (ticker, side, model): for every active market of an NFL game
    not yet started and every model version `probability_models` marks active (`is_active`;
    `elo_nfl` v1.0 out of the box), the model's probability for each side against its
    executable price (buy YES at the YES ask, NO at the NO ask; sides with no resting size
    skipped), net of the taker fee, as expected value per contract and per dollar. A new version
    when an edge changes; an edge whose market closed or lost its size, or whose model version
    is no longer active, is closed. Each row names the model version and the market version it
    came from, and the run that computed it."""
    now = datetime.now(timezone.utc)
    with warehouse.connection() as conn:
        try:
            models = active_models(conn, LEAGUE)
        except EloModelNotFound as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        refresh = refresh_edges(conn, models, now, Decimal(config.fee_basis_contracts), context.run.run_id)
        best = conn.execute(
            "SELECT e.ticker, e.side, p.model_name || ':' || p.model_version, e.model_probability, e.execution_price, "
            "e.fee_per_contract, e.edge, e.expected_value_per_dollar FROM edges_current e "
            "JOIN probability_models p ON p.id = e.model_id ORDER BY e.edge DESC LIMIT 10").fetchall()
    merged = refresh.merged
    return dg.MaterializeResult(metadata={
        "model": ", ".join(model.label for model in models),
        "markets_considered": refresh.markets,
        "edges": refresh.edges,
        "positive_edges": refresh.positive,
        "inserted": merged.inserted, "closed": merged.closed, "retired": merged.retired, "unchanged": merged.unchanged,
        "skipped": markdown_table([{"reason": reason, "markets": n} for reason, n in refresh.skipped.items()]),
        "best_edges": markdown_table([
            {"ticker": r[0], "side": r[1], "model_version": r[2], "model": round(r[3], 4), "price": r[4], "fee": r[5],
             "edge": r[6], "ev_per_dollar": r[7]} for r in best]),
        "calculation_run_id": context.run.run_id,
        "dagster/row_count": refresh.edges,
    })
