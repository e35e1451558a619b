-- Risk limits (issue 14): every entry order is checked against its strategy version's
-- `risk_limits` before it is sent, paper or live; exits are never checked. The limits live in
-- the strategy's immutable config, so changing one is a new strategy version.

-- Every entry order sent (paper or live), recorded before it goes out: the orders-per-minute
-- limit counts these, including orders that did not fill (they were still sent).
CREATE TABLE entry_orders (
    id               bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy_id      integer       NOT NULL REFERENCES strategies (id),
    edge_id          bigint        NOT NULL REFERENCES edges (id),
    ticker           text          NOT NULL REFERENCES market_tickers (ticker),
    side             text          NOT NULL CHECK (side IN ('yes', 'no')),
    trading_mode     text          NOT NULL CHECK (trading_mode IN ('paper', 'live')),
    quantity         numeric(18,2) NOT NULL CHECK (quantity > 0),
    limit_price      price         NOT NULL,
    client_order_id  text          NOT NULL,
    sent_at          timestamptz   NOT NULL,
    recorded_at      timestamptz   NOT NULL DEFAULT now()
);
COMMENT ON TABLE entry_orders IS 'Append-only: every entry order sent, filled or not; the orders-per-minute limit counts them.';
CREATE INDEX entry_orders_rate_ix ON entry_orders (strategy_id, sent_at);

-- One row per entry the limits refused: which strategy, which edge, which limit, the limit and
-- the value the entry would have brought it to.
CREATE TABLE risk_refusals (
    id               bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy_id      integer       NOT NULL REFERENCES strategies (id),
    edge_id          bigint        REFERENCES edges (id),
    ticker           text          REFERENCES market_tickers (ticker),
    side             text          CHECK (side IN ('yes', 'no')),
    trading_mode     text          NOT NULL CHECK (trading_mode IN ('paper', 'live')),
    limit_name       text          NOT NULL CHECK (limit_name IN (
                                       'max_daily_loss', 'max_open_exposure', 'max_game_exposure',
                                       'max_series_exposure', 'max_contracts_per_order', 'max_orders_per_minute')),
    unit             text          NOT NULL CHECK (unit IN ('dollars', 'contracts', 'orders')),
    limit_value      numeric(18,4) NOT NULL CHECK (limit_value >= 0),
    would_be_value   numeric(18,4) NOT NULL,
    quantity         numeric(18,2) CHECK (quantity > 0),
    price            price,
    message          text          NOT NULL,
    refused_at       timestamptz   NOT NULL,
    recorded_at      timestamptz   NOT NULL DEFAULT now()
);
COMMENT ON TABLE risk_refusals IS 'Append-only: each entry a risk limit refused, with the limit and the would-be value.';
COMMENT ON COLUMN risk_refusals.would_be_value IS 'In the limit''s unit: for max_daily_loss the day''s realized loss so far; '
    'otherwise the value after the refused order (exposure, contracts, orders in the trailing minute).';
CREATE INDEX risk_refusals_strategy_ix ON risk_refusals (strategy_id, refused_at);

DO $$
DECLARE
    logged text;
BEGIN
    FOREACH logged IN ARRAY ARRAY['entry_orders', 'risk_refusals'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION reject_append_only_change()', logged || '_append_only', logged);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change()', logged || '_no_truncate',
                       logged);
    END LOOP;
END;
$$;

SELECT install_price_scale_trigger('entry_orders', ARRAY['limit_price']);
SELECT install_price_scale_trigger('risk_refusals', ARRAY['price']);

-- The default strategy with limits, as a new version: 1.0 keeps its config (versions are
-- immutable) and is deactivated, so the newest active version, 1.1, is the one traded.
-- Dollars are strings so they load into Decimal exactly; counts are integers.
INSERT INTO strategies (strategy_name, strategy_version, config, description)
VALUES ('default_paper', '1.1', '{
    "min_edge": "0.03",
    "stake_per_trade": "25.00",
    "exit_rules": {
        "stop_loss": "0.10",
        "profit_target": "0.20",
        "trailing_stop_distance": "0.10",
        "exit_minutes_before_close": 30,
        "limit_attempts": 3
    },
    "risk_limits": {
        "max_daily_loss": "100.00",
        "max_open_exposure": "250.00",
        "max_game_exposure": "50.00",
        "max_series_exposure": "250.00",
        "max_contracts_per_order": 1000,
        "max_orders_per_minute": 20
    }
}', 'Default paper-trading strategy with risk limits (issue 14)');
UPDATE strategies SET is_active = false WHERE strategy_name = 'default_paper' AND strategy_version = '1.0';

SELECT add_finite_number_checks();
