"""Edges: where the model disagrees with the market by more than the fee."""

from datetime import datetime, timezone
from decimal import Decimal

import dagster as dg
from psycopg import sql
from pydantic import Field

from precog_pipelines.core.automation import UPSTREAM_CHECKED
from precog_pipelines.core.metadata import markdown_table
from precog_pipelines.lib.elo import NFL_MODEL_NAME, NFL_MODEL_VERSION
from precog_pipelines.lib.elo.store import load_model
from precog_pipelines.lib.trading.edge_snapshot import compute_edges
from precog_pipelines.lib.warehouse.scd2_merge import merge_snapshot
from precog_pipelines.lib.warehouse.tables import EDGES
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
    not yet started, the Elo model's probability for each side against its executable price
    (buy YES at the YES ask, NO at the NO ask; sides with no resting size skipped), net of the
    taker fee, as expected value per contract and per dollar. A new version when an edge
    changes; an edge whose market closed or lost its size is closed. Each row names the model
    version and the market version it came from, and the run that computed it."""
    now = datetime.now(timezone.utc)
    with warehouse.connection() as conn:
        model = load_model(conn, NFL_MODEL_NAME, NFL_MODEL_VERSION)
        snapshot = compute_edges(conn, model, now, Decimal(config.fee_basis_contracts), context.run.run_id)
        merged = merge_snapshot(conn, EDGES, snapshot.rows, now,
                                retire_missing_where=sql.SQL("t.model_id = %(model_id)s"),
                                retire_params={"model_id": model.id})
        best = conn.execute(
            "SELECT e.ticker, e.side, e.model_probability, e.execution_price, e.fee_per_contract, e.edge, "
            "e.expected_value_per_dollar FROM edges_current e WHERE e.model_id = %s ORDER BY e.edge DESC LIMIT 10",
            (model.id,)).fetchall()
    return dg.MaterializeResult(metadata={
        "model": model.label,
        "markets_considered": snapshot.markets,
        "edges": snapshot.edges,
        "positive_edges": sum(1 for row in snapshot.rows if row[EDGES.columns.index("edge")] > 0),
        "inserted": merged.inserted, "closed": merged.closed, "retired": merged.retired, "unchanged": merged.unchanged,
        "skipped": markdown_table([{"reason": reason, "markets": n} for reason, n in snapshot.skipped.items()]),
        "best_edges": markdown_table([
            {"ticker": r[0], "side": r[1], "model": round(r[2], 4), "price": r[3], "fee": r[4], "edge": r[5],
             "ev_per_dollar": r[6]} for r in best]),
        "calculation_run_id": context.run.run_id,
        "dagster/row_count": snapshot.edges,
    })
