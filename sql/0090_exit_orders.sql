-- An order is sent at most once (issue 13, item 0): every exit order is recorded here, in its own
-- committed transaction, BEFORE it is sent (entry orders already are, in entry_orders). Its
-- outcome is the exit_attempts row with the same client_order_id. A row with no outcome is an
-- order whose fate a crash hid: the next exit of the position asks the exchange about that
-- client_order_id (lib/trading/order_recovery.py) and books what happened instead of sending
-- another order. Append-only.
CREATE TABLE exit_orders (
    id               bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position_key     text          NOT NULL,
    position_id      bigint        NOT NULL REFERENCES positions (id),
    ticker           text          NOT NULL REFERENCES market_tickers (ticker),
    side             text          NOT NULL CHECK (side IN ('yes', 'no')),
    trading_mode     text          NOT NULL CHECK (trading_mode IN ('paper', 'live')),
    exit_reason      text          NOT NULL CHECK (exit_reason IN
                         ('stop_loss', 'profit_target', 'trailing_stop', 'time_exit', 'manual')),
    order_type       text          NOT NULL CHECK (order_type IN ('limit', 'market')),
    limit_price      price,
    quantity         numeric(18,2) NOT NULL CHECK (quantity > 0),
    client_order_id  text          NOT NULL UNIQUE,
    dagster_run_id   text,
    sent_at          timestamptz   NOT NULL,
    recorded_at      timestamptz   NOT NULL DEFAULT now(),
    CHECK ((order_type = 'limit') = (limit_price IS NOT NULL))
);
COMMENT ON TABLE exit_orders IS 'Append-only: every exit order, recorded before it is sent; its outcome is the exit_attempts row with the same client_order_id.';
CREATE INDEX exit_orders_position_ix ON exit_orders (position_key);
-- Recovery looks outcomes up by client order id.
CREATE INDEX exit_attempts_client_order_ix ON exit_attempts (client_order_id);
CREATE INDEX entry_attempts_client_order_ix ON entry_attempts (client_order_id);
CREATE INDEX entry_orders_client_order_ix ON entry_orders (client_order_id);

CREATE TRIGGER exit_orders_append_only BEFORE UPDATE OR DELETE ON exit_orders
    FOR EACH ROW EXECUTE FUNCTION reject_append_only_change();
CREATE TRIGGER exit_orders_no_truncate BEFORE TRUNCATE ON exit_orders
    FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change();

SELECT install_price_scale_trigger('exit_orders', ARRAY['limit_price']);
SELECT add_finite_number_checks();
