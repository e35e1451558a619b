-- Backtests: what a strategy version would have done, replayed through the live trading code
-- against the closing lines or the warehouse's recorded Kalshi markets. They write here only,
-- never to the live ledger (positions, trades, exits, settlements, balances). Append-only.

CREATE TABLE backtest_runs (
    id                    bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy_id           integer       NOT NULL REFERENCES strategies (id),
    probability_model_id  integer       NOT NULL REFERENCES probability_models (id),
    source                text          NOT NULL CHECK (source IN ('lines', 'warehouse')),
    first_season          integer       NOT NULL,
    last_season           integer       NOT NULL CHECK (last_season >= first_season),
    market_model_id       integer       REFERENCES market_probability_models (id),
    half_spread           numeric(10,4) CHECK (half_spread BETWEEN 0 AND 0.5),
    code_version          text          NOT NULL,
    inputs                jsonb         NOT NULL CHECK (jsonb_typeof(inputs) = 'object'),
    trades                integer       NOT NULL CHECK (trades >= 0),
    wins                  integer       NOT NULL CHECK (wins BETWEEN 0 AND trades),
    staked                numeric(18,4) NOT NULL CHECK (staked >= 0),
    fees                  numeric(18,4) NOT NULL CHECK (fees >= 0),
    pnl                   numeric(18,4) NOT NULL,
    roi                   numeric(12,6),
    max_drawdown          numeric(18,4) NOT NULL CHECK (max_drawdown >= 0),
    run_id                text,
    started_at            timestamptz   NOT NULL,
    finished_at           timestamptz   NOT NULL DEFAULT now(),
    CHECK ((source = 'lines') = (market_model_id IS NOT NULL AND half_spread IS NOT NULL)),
    CHECK ((trades = 0) = (roi IS NULL))
);
COMMENT ON COLUMN backtest_runs.inputs IS
    'Everything the result depends on: strategy and model configs, seasons, source, prices and fee settings.';
COMMENT ON COLUMN backtest_runs.staked IS 'Dollars paid to enter every trade, fees included; roi = pnl / staked.';
COMMENT ON COLUMN backtest_runs.max_drawdown IS 'Largest fall of the cumulative P&L from an earlier high (dollars; the run starts at 0).';

CREATE TABLE backtest_trades (
    id                 bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    backtest_run_id    bigint        NOT NULL REFERENCES backtest_runs (id),
    sequence           integer       NOT NULL CHECK (sequence >= 1),
    season             integer       NOT NULL,
    game_id            bigint        NOT NULL REFERENCES games (id),
    game_date          date          NOT NULL,
    ticker             text          REFERENCES market_tickers (ticker),
    team_id            integer       NOT NULL REFERENCES teams (id),
    side               text          NOT NULL CHECK (side IN ('yes', 'no')),
    model_probability  numeric(10,8) NOT NULL CHECK (model_probability > 0 AND model_probability < 1),
    edge               numeric(10,4) NOT NULL,
    quantity           numeric(18,2) NOT NULL CHECK (quantity > 0),
    entry_price        numeric(10,4) NOT NULL CHECK (entry_price BETWEEN 0 AND 1),
    entry_fee          numeric(18,4) NOT NULL CHECK (entry_fee >= 0),
    opened_at          timestamptz,
    exit_reason        text          NOT NULL CHECK (exit_reason IN
                           ('stop_loss', 'profit_target', 'trailing_stop', 'time_exit', 'settlement')),
    exit_price         numeric(10,4) NOT NULL CHECK (exit_price BETWEEN 0 AND 1),
    exit_fee           numeric(18,4) NOT NULL DEFAULT 0 CHECK (exit_fee >= 0),
    closed_at          timestamptz,
    realized_pnl       numeric(18,4) NOT NULL,
    equity_after       numeric(18,4) NOT NULL,
    UNIQUE (backtest_run_id, sequence)
);
COMMENT ON COLUMN backtest_trades.sequence IS 'Order in which trades closed: the equity curve''s order.';
COMMENT ON COLUMN backtest_trades.ticker IS 'The Kalshi market (warehouse backtests); NULL against the closing lines.';
COMMENT ON COLUMN backtest_trades.opened_at IS 'When the position opened (warehouse backtests); the lines carry dates only.';
COMMENT ON COLUMN backtest_trades.equity_after IS 'Cumulative realized P&L of the run after this trade.';

CREATE TABLE backtest_seasons (
    backtest_run_id  bigint        NOT NULL REFERENCES backtest_runs (id),
    season           integer       NOT NULL,
    trades           integer       NOT NULL CHECK (trades >= 0),
    wins             integer       NOT NULL CHECK (wins BETWEEN 0 AND trades),
    staked           numeric(18,4) NOT NULL CHECK (staked >= 0),
    fees             numeric(18,4) NOT NULL CHECK (fees >= 0),
    pnl              numeric(18,4) NOT NULL,
    roi              numeric(12,6),
    max_drawdown     numeric(18,4) NOT NULL CHECK (max_drawdown >= 0),
    PRIMARY KEY (backtest_run_id, season)
);

DO $$
DECLARE
    results_table text;
BEGIN
    FOREACH results_table IN ARRAY ARRAY['backtest_runs', 'backtest_trades', 'backtest_seasons'] LOOP
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                 FOR EACH ROW EXECUTE FUNCTION reject_append_only_change()',
            results_table || '_append_only', results_table);
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                 FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change()',
            results_table || '_no_truncate', results_table);
    END LOOP;
END;
$$;
