-- The kill switch: an append-only log of halt and resume events; the trading state is the
-- latest event. While halted no entry order is sent; exits go on unless the halt blocks them.
CREATE TABLE trading_halts (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action        text        NOT NULL CHECK (action IN ('halt', 'resume')),
    reason        text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    -- What decided it: a person, or one of the automatic circuit breakers.
    source        text        NOT NULL CHECK (source IN ('manual', 'reconciliation', 'order_errors',
                                                          'daily_loss', 'stale_market_data')),
    blocks_exits  boolean     NOT NULL DEFAULT false CHECK (action = 'halt' OR NOT blocks_exits),
    actor         text        NOT NULL,
    details       jsonb       CHECK (details IS NULL OR jsonb_typeof(details) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trading_halts IS 'Append-only halt/resume events; the latest row is the trading state.';
CREATE INDEX trading_halts_latest_ix ON trading_halts (id DESC);

CREATE TRIGGER trading_halts_append_only BEFORE UPDATE OR DELETE ON trading_halts
    FOR EACH ROW EXECUTE FUNCTION reject_append_only_change();
CREATE TRIGGER trading_halts_no_truncate BEFORE TRUNCATE ON trading_halts
    FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change();
