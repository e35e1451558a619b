-- Edges, positions and the trading ledger. edges, positions and account_balance are
-- SCD Type 2; trades, position_exits, exit_attempts and settlements are append-only.

CREATE TABLE edges (
    id                         bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticker                     text          NOT NULL REFERENCES market_tickers (ticker),
    side                       text          NOT NULL CHECK (side IN ('yes', 'no')),
    model_id                   integer       NOT NULL REFERENCES probability_models (id),
    market_version_id          bigint        NOT NULL REFERENCES markets (id),
    game_id                    bigint        NOT NULL REFERENCES games (id),
    team_id                    integer       NOT NULL REFERENCES teams (id),
    model_probability          numeric(10,8) NOT NULL CHECK (model_probability > 0 AND model_probability < 1),
    execution_price            numeric(10,4) NOT NULL CHECK (execution_price BETWEEN 0 AND 1),
    available_size             numeric(18,2) NOT NULL CHECK (available_size > 0),
    fee_per_contract           numeric(10,4) NOT NULL CHECK (fee_per_contract >= 0),
    edge                       numeric(10,4) NOT NULL,
    expected_value_per_dollar  numeric(10,4) NOT NULL,
    calculation_run_id         text          NOT NULL,
    row_current_ind            boolean       NOT NULL DEFAULT true,
    row_start_ts               timestamptz   NOT NULL DEFAULT now(),
    row_end_ts                 timestamptz,
    CONSTRAINT edges_validity_ck CHECK (
        (row_current_ind AND row_end_ts IS NULL)
        OR (NOT row_current_ind AND row_end_ts IS NOT NULL AND row_end_ts > row_start_ts)
    )
);
COMMENT ON TABLE edges IS 'SCD Type 2: the model''s advantage over the executable price of one side of one market, a new version when it changes.';
COMMENT ON COLUMN edges.team_id IS 'The team whose win this side pays out on.';
COMMENT ON COLUMN edges.edge IS 'Expected value per contract in dollars, net of the taker fee: model_probability - execution_price - fee_per_contract.';
COMMENT ON COLUMN edges.market_version_id IS 'The markets version row whose prices this edge was computed from.';
CREATE UNIQUE INDEX edges_one_current_uq ON edges (ticker, side, model_id) WHERE row_current_ind;
CREATE INDEX edges_history_ix ON edges (ticker, side, model_id, row_start_ts);
CREATE INDEX edges_run_ix ON edges (calculation_run_id);
CREATE TRIGGER edges_scd2_guard BEFORE UPDATE ON edges
    FOR EACH ROW EXECUTE FUNCTION scd2_only_close_current();

CREATE TABLE positions (
    id                      bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position_key            text          NOT NULL CHECK (position_key <> ''),
    strategy_id             integer       NOT NULL REFERENCES strategies (id),
    ticker                  text          NOT NULL REFERENCES market_tickers (ticker),
    side                    text          NOT NULL CHECK (side IN ('yes', 'no')),
    trading_mode            text          NOT NULL CHECK (trading_mode IN ('paper', 'live')),
    status                  text          NOT NULL CHECK (status IN ('open', 'closed', 'settled')),
    quantity                numeric(18,2) NOT NULL CHECK (quantity > 0),
    entry_price             numeric(10,4) NOT NULL CHECK (entry_price BETWEEN 0 AND 1),
    entry_fee               numeric(18,4) NOT NULL DEFAULT 0 CHECK (entry_fee >= 0),
    target_price            numeric(10,4) CHECK (target_price BETWEEN 0 AND 1),
    stop_loss_price         numeric(10,4) CHECK (stop_loss_price BETWEEN 0 AND 1),
    trailing_stop_distance  numeric(10,4) CHECK (trailing_stop_distance BETWEEN 0 AND 1),
    peak_price              numeric(10,4) CHECK (peak_price BETWEEN 0 AND 1),
    current_price           numeric(10,4) CHECK (current_price BETWEEN 0 AND 1),
    edge_id                 bigint        REFERENCES edges (id),
    opened_at               timestamptz   NOT NULL,
    closed_at               timestamptz,
    exit_reason             text          CHECK (exit_reason IN
                                ('stop_loss', 'profit_target', 'trailing_stop', 'time_exit', 'settlement', 'manual')),
    exit_price              numeric(10,4) CHECK (exit_price BETWEEN 0 AND 1),
    realized_pnl            numeric(18,4),
    row_current_ind         boolean       NOT NULL DEFAULT true,
    row_start_ts            timestamptz   NOT NULL DEFAULT now(),
    row_end_ts              timestamptz,
    CONSTRAINT positions_validity_ck CHECK (
        (row_current_ind AND row_end_ts IS NULL)
        OR (NOT row_current_ind AND row_end_ts IS NOT NULL AND row_end_ts > row_start_ts)
    ),
    CONSTRAINT positions_closed_fields_ck CHECK (
        (status = 'open' AND closed_at IS NULL AND exit_reason IS NULL AND realized_pnl IS NULL)
        OR (status <> 'open' AND closed_at IS NOT NULL AND exit_reason IS NOT NULL AND realized_pnl IS NOT NULL)
    )
);
COMMENT ON TABLE positions IS 'SCD Type 2: one version per change of a position (opened, peak moved, closed or settled).';
CREATE UNIQUE INDEX positions_one_current_uq ON positions (position_key) WHERE row_current_ind;
CREATE INDEX positions_history_ix ON positions (position_key, row_start_ts);
CREATE INDEX positions_open_ix ON positions (ticker) WHERE row_current_ind AND status = 'open';
CREATE TRIGGER positions_scd2_guard BEFORE UPDATE ON positions
    FOR EACH ROW EXECUTE FUNCTION scd2_only_close_current();

CREATE TABLE trades (
    id                 bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position_key       text          NOT NULL,
    position_id        bigint        NOT NULL REFERENCES positions (id),
    strategy_id        integer       NOT NULL REFERENCES strategies (id),
    ticker             text          NOT NULL REFERENCES market_tickers (ticker),
    trading_mode       text          NOT NULL CHECK (trading_mode IN ('paper', 'live')),
    purpose            text          NOT NULL CHECK (purpose IN ('entry', 'exit')),
    side               text          NOT NULL CHECK (side IN ('yes', 'no')),
    action             text          NOT NULL CHECK (action IN ('buy', 'sell')),
    book_side          text          NOT NULL CHECK (book_side IN ('bid', 'ask')),
    order_type         text          NOT NULL CHECK (order_type IN ('limit', 'market')),
    time_in_force      text          CHECK (time_in_force IN ('fill_or_kill', 'good_till_canceled', 'immediate_or_cancel')),
    quantity           numeric(18,2) NOT NULL CHECK (quantity > 0),
    price              numeric(10,4) NOT NULL CHECK (price BETWEEN 0 AND 1),
    fee                numeric(18,4) NOT NULL DEFAULT 0 CHECK (fee >= 0),
    client_order_id    text          NOT NULL UNIQUE,
    external_order_id  text,
    executed_at        timestamptz   NOT NULL,
    recorded_at        timestamptz   NOT NULL DEFAULT now()
);
COMMENT ON COLUMN trades.position_id IS 'The positions version that was current when the trade filled.';
CREATE INDEX trades_position_ix ON trades (position_key);
CREATE INDEX trades_ticker_ix ON trades (ticker, executed_at);

CREATE TABLE exit_attempts (
    id                 bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position_key       text          NOT NULL,
    position_id        bigint        NOT NULL REFERENCES positions (id),
    exit_reason        text          NOT NULL CHECK (exit_reason IN
                           ('stop_loss', 'profit_target', 'trailing_stop', 'time_exit', 'manual')),
    attempt_number     integer       NOT NULL CHECK (attempt_number >= 1),
    order_type         text          NOT NULL CHECK (order_type IN ('limit', 'market')),
    limit_price        numeric(10,4) CHECK (limit_price BETWEEN 0 AND 1),
    outcome            text          NOT NULL CHECK (outcome IN
                           ('filled', 'partially_filled', 'not_filled', 'rejected', 'error')),
    filled_quantity    numeric(18,2) NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
    fill_price         numeric(10,4) CHECK (fill_price BETWEEN 0 AND 1),
    client_order_id    text,
    external_order_id  text,
    error_message      text,
    dagster_run_id     text,
    attempted_at       timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (position_key, attempt_number),
    CHECK ((order_type = 'limit') = (limit_price IS NOT NULL))
);

CREATE TABLE position_exits (
    id             bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position_key   text          NOT NULL UNIQUE,
    position_id    bigint        NOT NULL REFERENCES positions (id),
    ticker         text          NOT NULL REFERENCES market_tickers (ticker),
    exit_reason    text          NOT NULL CHECK (exit_reason IN
                       ('stop_loss', 'profit_target', 'trailing_stop', 'time_exit', 'manual')),
    quantity       numeric(18,2) NOT NULL CHECK (quantity > 0),
    exit_price     numeric(10,4) NOT NULL CHECK (exit_price BETWEEN 0 AND 1),
    fee            numeric(18,4) NOT NULL DEFAULT 0 CHECK (fee >= 0),
    realized_pnl   numeric(18,4) NOT NULL,
    trade_id       bigint        NOT NULL REFERENCES trades (id),
    attempts       integer       NOT NULL CHECK (attempts >= 1),
    exited_at      timestamptz   NOT NULL,
    recorded_at    timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE settlements (
    id                      bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_id             text          NOT NULL DEFAULT 'kalshi' REFERENCES platforms (platform_id),
    ticker                  text          NOT NULL REFERENCES market_tickers (ticker),
    market_result           text          NOT NULL CHECK (market_result IN ('yes', 'no', 'scalar')),
    settlement_value        numeric(10,4) NOT NULL CHECK (settlement_value BETWEEN 0 AND 1),
    external_settlement_id  text,
    settled_at              timestamptz   NOT NULL,
    raw_response            jsonb         NOT NULL,
    recorded_at             timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (platform_id, ticker)
);
COMMENT ON COLUMN settlements.settlement_value IS 'Dollars paid per YES contract.';

CREATE TABLE account_balance (
    id               bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_key      text          NOT NULL CHECK (account_key ~ '^[a-z]+:[a-z]+$'),
    platform_id      text          NOT NULL DEFAULT 'kalshi' REFERENCES platforms (platform_id),
    trading_mode     text          NOT NULL CHECK (trading_mode IN ('paper', 'live')),
    balance          numeric(18,4) NOT NULL,
    portfolio_value  numeric(18,4),
    change_reason    text          NOT NULL CHECK (change_reason IN
                         ('initial', 'trade', 'exit', 'settlement', 'exchange_sync')),
    row_current_ind  boolean       NOT NULL DEFAULT true,
    row_start_ts     timestamptz   NOT NULL DEFAULT now(),
    row_end_ts       timestamptz,
    CONSTRAINT account_balance_validity_ck CHECK (
        (row_current_ind AND row_end_ts IS NULL)
        OR (NOT row_current_ind AND row_end_ts IS NOT NULL AND row_end_ts > row_start_ts)
    )
);
COMMENT ON TABLE account_balance IS 'SCD Type 2 history of the cash balance in dollars, per account (e.g. kalshi:paper, kalshi:demo).';
CREATE UNIQUE INDEX account_balance_one_current_uq ON account_balance (account_key) WHERE row_current_ind;
CREATE INDEX account_balance_history_ix ON account_balance (account_key, row_start_ts);
CREATE TRIGGER account_balance_scd2_guard BEFORE UPDATE ON account_balance
    FOR EACH ROW EXECUTE FUNCTION scd2_only_close_current();

CREATE TABLE alerts (
    id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    severity               text        NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    component              text        NOT NULL,
    message                text        NOT NULL,
    fingerprint            text        NOT NULL,
    details                jsonb,
    occurrence_count       integer     NOT NULL DEFAULT 1 CHECK (occurrence_count >= 1),
    first_seen_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at           timestamptz NOT NULL DEFAULT now(),
    resolved_at            timestamptz,
    webhook_delivered_at   timestamptz,
    CHECK (last_seen_at >= first_seen_at)
);
-- One open alert per fingerprint: repeats bump occurrence_count instead of piling up.
CREATE UNIQUE INDEX alerts_open_fingerprint_uq ON alerts (fingerprint) WHERE resolved_at IS NULL;

DO $$
DECLARE
    ledger_table text;
BEGIN
    FOREACH ledger_table IN ARRAY ARRAY['trades', 'exit_attempts', 'position_exits', 'settlements'] LOOP
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                 FOR EACH ROW EXECUTE FUNCTION reject_append_only_change()',
            ledger_table || '_append_only', ledger_table);
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                 FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change()',
            ledger_table || '_no_truncate', ledger_table);
    END LOOP;
END;
$$;
