"""Edges: where the model disagrees with the market by more than the fee."""

from datetime import datetime, timezone
from decimal import Decimal

import dagster as dg
from pydantic import Field

from precog_pipelines.core.automation import UPSTREAM_CHECKED
from precog_pipelines.core.metadata import markdown_table, plotted_amount, table
from precog_pipelines.lib.elo.store import EloModelNotFound, active_models
from precog_pipelines.lib.trading.edge_run import refresh_edges
from precog_pipelines.lib.trading.edge_snapshot import LEAGUE
from precog_pipelines.lib.trading.edge_summary import BEST_EDGE_COLUMNS, current_edges
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
    came from, and the run that computed it.

    Every materialization describes the table after the run in one shape: the current edges,
    how many are positive, the best edge (plotted over time) and a table of the ten best; what
    the run itself computed, inserted and closed is listed under ``run_`` names."""
    now = datetime.now(timezone.utc)
    with warehouse.connection() as conn:
        try:
            models = active_models(conn, LEAGUE)
        except EloModelNotFound as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        refresh = refresh_edges(conn, models, now, Decimal(config.fee_basis_contracts), context.run.run_id)
        current = current_edges(conn)
    merged = refresh.merged
    best = [row | {"model_probability": round(row["model_probability"], 4)} for row in current.best]
    return dg.MaterializeResult(metadata={
        # The table after the run, the same keys every time; plotted over time.
        "model": ", ".join(model.label for model in models),
        "dagster/row_count": current.count,
        "edges": current.count,
        "positive_edges": current.positive,
        "best_edge": None if current.best_edge is None else plotted_amount(current.best_edge),
        "best_edges": table(best, columns=BEST_EDGE_COLUMNS),
        # What this run did.
        "run_markets_considered": refresh.markets,
        "run_edges_computed": refresh.edges,
        "run_positive_edges": refresh.positive,
        "run_inserted": merged.inserted, "run_closed": merged.closed, "run_retired": merged.retired,
        "run_unchanged": merged.unchanged,
        "run_skipped": markdown_table([{"reason": reason, "markets": n} for reason, n in refresh.skipped.items()]),
        "calculation_run_id": context.run.run_id,
    })
