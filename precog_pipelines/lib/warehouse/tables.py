"""The warehouse's table registry: every SCD Type 2 table with its business key and how it is
versioned, and every append-only table. Merges, asset checks and tests read the tables from here;
nothing else restates a table's name or key."""

from dataclasses import dataclass

from precog_pipelines.lib.warehouse.scd2_merge import Scd2Table


@dataclass(frozen=True)
class AppendOnlyTable:
    """A table that only ever grows: a trigger refuses UPDATE, DELETE and TRUNCATE."""

    name: str


MARKETS = Scd2Table(
    name="markets",
    business_key=("ticker",),
    # A new version when prices, sizes, status, result or close time change.
    tracked=(
        "status", "yes_bid", "yes_ask", "no_bid", "no_ask", "last_price",
        "yes_bid_size", "yes_ask_size", "result", "settlement_value", "settlement_ts", "close_time",
    ),
    carried=(
        "event_ticker", "market_type", "title", "yes_sub_title", "no_sub_title",
        "volume", "volume_24h", "open_interest", "notional_value", "expiration_value",
        "open_time", "expected_expiration_time", "latest_expiration_time",
        "occurrence_datetime", "can_close_early", "updated_time",
    ),
)

GAME_STATES = Scd2Table(
    name="game_states",
    business_key=("external_game_id",),
    # A new version when score, period, clock or status change.
    tracked=("state", "status_name", "completed", "home_score", "away_score", "period", "clock_seconds"),
    carried=("display_clock", "situation"),
)

EDGES = Scd2Table(
    name="edges",
    business_key=("ticker", "side", "model_id"),
    retirable=True,
    # A new version when the edge changes: the model's probability, the price or the fee.
    tracked=("model_probability", "execution_price", "fee_per_contract", "edge", "expected_value_per_dollar"),
    carried=("market_version_id", "game_id", "team_id", "available_size", "calculation_run_id"),
)

# Revised one key at a time (lib/warehouse/scd2_merge.revise_current) rather than merged.
POSITIONS = Scd2Table(name="positions", business_key=("position_key",))
ACCOUNT_BALANCE = Scd2Table(name="account_balance", business_key=("account_key",))

# The exchange's view of the account (lib/portfolio/store.py, the `portfolio` assets).
EXCHANGE_ORDERS = Scd2Table(
    name="exchange_orders",
    business_key=("account_key", "order_id"),
    # A new version when the order fills, rests, is cancelled or is charged.
    tracked=("status", "fill_count", "remaining_count", "taker_fill_cost", "maker_fill_cost", "taker_fees",
             "maker_fees"),
    carried=("client_order_id", "ticker", "outcome_side", "book_side", "order_type", "yes_price", "initial_count",
             "created_time", "last_update_time"),
)
# Retirable: a position the exchange no longer lists (sold or settled) ends without a successor.
EXCHANGE_POSITIONS = Scd2Table(
    name="exchange_positions",
    business_key=("account_key", "ticker"),
    tracked=("position", "market_exposure", "realized_pnl", "fees_paid", "total_traded"),
    carried=("last_updated_ts",),
    retirable=True,
)

SCD2_TABLES = (MARKETS, GAME_STATES, EDGES, POSITIONS, ACCOUNT_BALANCE, EXCHANGE_ORDERS, EXCHANGE_POSITIONS)

# The trading ledger: what happened, never rewritten.
TRADES = AppendOnlyTable("trades")
POSITION_EXITS = AppendOnlyTable("position_exits")
EXIT_ATTEMPTS = AppendOnlyTable("exit_attempts")
SETTLEMENTS = AppendOnlyTable("settlements")
# Every entry order sent or simulated, and its outcome (the order-error breaker counts them).
ENTRY_ATTEMPTS = AppendOnlyTable("entry_attempts")

LEDGER_TABLES = (TRADES, POSITION_EXITS, EXIT_ATTEMPTS, SETTLEMENTS, ENTRY_ATTEMPTS)

# The kill switch's log: halt and resume events (lib/trading/halts.py).
TRADING_HALTS = AppendOnlyTable("trading_halts")

# Who created, activated and deactivated each strategy and model version (lib/versions/store.py).
VERSION_ACTIVATIONS = AppendOnlyTable("version_activations")

# Risk limits (lib/trading/risk.py): every entry order sent, and every entry a limit refused.
ENTRY_ORDERS = AppendOnlyTable("entry_orders")
RISK_REFUSALS = AppendOnlyTable("risk_refusals")
RISK_TABLES = (ENTRY_ORDERS, RISK_REFUSALS)

# Every exit order, recorded before it is sent (lib/trading/order_recovery.py).
EXIT_ORDERS = AppendOnlyTable("exit_orders")

# Each open position's mark, peak and unrealized P&L when they change (lib/trading/marks.py).
POSITION_MARKS = AppendOnlyTable("position_marks")

# Kalshi candlesticks backfilled by day (lib/ingest/kalshi_store.py): each candle stored once.
MARKET_CANDLES = AppendOnlyTable("market_candles")

# Every market ever seen, with its event: the anchor of market versions, positions and trades,
# never changed (sql/0144), registered by the market and candle loads (lib/ingest/kalshi_store.py).
MARKET_TICKERS = AppendOnlyTable("market_tickers")

# Each delivery of an alert to a routing channel, delivered or failed (lib/alert_delivery.py).
ALERT_DELIVERIES = AppendOnlyTable("alert_deliveries")

# The exchange's fills and settlements of the account, each stored once (lib/portfolio/store.py),
# and every reconciliation of the exchange with the ledger (lib/portfolio/reconciliation.py).
EXCHANGE_FILLS = AppendOnlyTable("exchange_fills")
EXCHANGE_SETTLEMENTS = AppendOnlyTable("exchange_settlements")
RECONCILIATIONS = AppendOnlyTable("reconciliations")
