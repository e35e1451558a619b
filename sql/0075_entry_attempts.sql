-- Every entry order the position opener sent (or simulated), and how it came back: the record
-- the order-error circuit breaker counts (with exit_attempts), and the audit trail of entries
-- that never became a trade (an error, or an immediate-or-cancel order that filled nothing).
-- Append-only: an attempt happened and is never rewritten.
CREATE TABLE entry_attempts (
    id               bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy_id      integer       NOT NULL REFERENCES strategies (id),
    edge_id          bigint        NOT NULL REFERENCES edges (id),
    ticker           text          NOT NULL REFERENCES market_tickers (ticker),
    side             text          NOT NULL CHECK (side IN ('yes', 'no')),
    trading_mode     text          NOT NULL CHECK (trading_mode IN ('paper', 'live')),
    quantity         numeric(18,2) NOT NULL CHECK (quantity > 0),
    limit_price      price         NOT NULL,
    outcome          text          NOT NULL CHECK (outcome IN ('filled', 'not_filled', 'error')),
    client_order_id  text          NOT NULL,
    -- The error's class and message (never a credential: the client's errors name the request, not its headers).
    error_message    text          CHECK ((outcome = 'error') = (error_message IS NOT NULL)),
    attempted_at     timestamptz   NOT NULL DEFAULT now()
);
COMMENT ON TABLE entry_attempts IS 'Append-only: each entry order sent (or simulated) and its outcome.';
CREATE INDEX entry_attempts_attempted_ix ON entry_attempts (attempted_at DESC);
-- The breaker reads the newest attempts of both kinds.
CREATE INDEX exit_attempts_attempted_ix ON exit_attempts (attempted_at DESC);

CREATE TRIGGER entry_attempts_append_only BEFORE UPDATE OR DELETE ON entry_attempts
    FOR EACH ROW EXECUTE FUNCTION reject_append_only_change();
CREATE TRIGGER entry_attempts_no_truncate BEFORE TRUNCATE ON entry_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change();

SELECT install_price_scale_trigger('entry_attempts', ARRAY['limit_price']);
SELECT add_finite_number_checks();
