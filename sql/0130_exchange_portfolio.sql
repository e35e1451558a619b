-- The exchange's view of the account (issue 13, items 1 and 2), read from Kalshi's signed
-- portfolio endpoints by the `portfolio` assets, and the reconciliation of that view with the
-- ledger. The exchange is the truth about the account; these tables keep what it said, when.
--
--   exchange_orders       SCD Type 2 by (account_key, order_id): a new version when its status,
--                         fills or fees change. Orders are never retired: an order that leaves
--                         the exchange's list (its historical cutoff) keeps its last version.
--   exchange_positions    SCD Type 2 by (account_key, ticker), retirable: the current versions are
--                         exactly the positions the exchange lists now; a position the exchange no
--                         longer lists (sold, settled) is closed without a successor.
--   exchange_fills        append-only, one row per exchange fill_id.
--   exchange_settlements  append-only, one row per settled market of the account (Kalshi gives a
--                         settlement no id: a market settles once, so (account_key, ticker) is it).
--   reconciliations       append-only, one row per reconciliation run with its differences.
--
-- Tickers are not foreign keys to market_tickers: an order placed outside Precog may be on a
-- market Precog never ingested, and that is exactly what reconciliation must be able to store.

CREATE TABLE exchange_orders (
    id                 bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_key        text          NOT NULL CHECK (account_key ~ '^[a-z]+:[a-z]+$'),
    order_id           text          NOT NULL CHECK (order_id <> ''),
    status             text          NOT NULL CHECK (status IN ('resting', 'canceled', 'executed')),
    fill_count         numeric(18,2) NOT NULL CHECK (fill_count >= 0),
    remaining_count    numeric(18,2) NOT NULL CHECK (remaining_count >= 0),
    taker_fill_cost    numeric(18,4) NOT NULL CHECK (taker_fill_cost >= 0),
    maker_fill_cost    numeric(18,4) NOT NULL CHECK (maker_fill_cost >= 0),
    taker_fees         numeric(18,4) NOT NULL CHECK (taker_fees >= 0),
    maker_fees         numeric(18,4) NOT NULL CHECK (maker_fees >= 0),
    client_order_id    text,
    ticker             text          NOT NULL CHECK (ticker <> ''),
    outcome_side       text          NOT NULL CHECK (outcome_side IN ('yes', 'no')),
    book_side          text          NOT NULL CHECK (book_side IN ('bid', 'ask')),
    order_type         text          NOT NULL CHECK (order_type IN ('limit', 'market')),
    yes_price          price         NOT NULL CHECK (yes_price BETWEEN 0 AND 1),
    initial_count      numeric(18,2) NOT NULL CHECK (initial_count >= 0),
    created_time       timestamptz,
    last_update_time   timestamptz,
    row_current_ind    boolean       NOT NULL DEFAULT true,
    row_start_ts       timestamptz   NOT NULL DEFAULT now(),
    row_end_ts         timestamptz,
    CONSTRAINT exchange_orders_validity_ck CHECK (
        (row_current_ind AND row_end_ts IS NULL)
        OR (NOT row_current_ind AND row_end_ts IS NOT NULL AND row_end_ts > row_start_ts)
    )
);
COMMENT ON TABLE exchange_orders IS 'SCD Type 2: the exchange''s orders of the account (GET /portfolio/orders), a new version when status, fills or fees change.';
CREATE UNIQUE INDEX exchange_orders_one_current_uq ON exchange_orders (account_key, order_id) WHERE row_current_ind;
CREATE INDEX exchange_orders_history_ix ON exchange_orders (account_key, order_id, row_start_ts);
CREATE INDEX exchange_orders_client_order_ix ON exchange_orders (client_order_id) WHERE row_current_ind;
CREATE TRIGGER exchange_orders_scd2_guard BEFORE UPDATE ON exchange_orders
    FOR EACH ROW EXECUTE FUNCTION scd2_only_close_current();

CREATE TABLE exchange_positions (
    id                 bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_key        text          NOT NULL CHECK (account_key ~ '^[a-z]+:[a-z]+$'),
    ticker             text          NOT NULL CHECK (ticker <> ''),
    position           numeric(18,2) NOT NULL,
    market_exposure    numeric(18,4) NOT NULL,
    realized_pnl       numeric(18,4) NOT NULL,
    fees_paid          numeric(18,4) NOT NULL CHECK (fees_paid >= 0),
    total_traded       numeric(18,4) NOT NULL,
    last_updated_ts    timestamptz,
    row_current_ind    boolean       NOT NULL DEFAULT true,
    row_start_ts       timestamptz   NOT NULL DEFAULT now(),
    row_end_ts         timestamptz,
    CONSTRAINT exchange_positions_validity_ck CHECK (
        (row_current_ind AND row_end_ts IS NULL)
        OR (NOT row_current_ind AND row_end_ts IS NOT NULL AND row_end_ts > row_start_ts)
    )
);
COMMENT ON TABLE exchange_positions IS 'SCD Type 2 (retirable): the exchange''s unsettled market positions of the account (GET /portfolio/positions).';
COMMENT ON COLUMN exchange_positions.position IS 'Signed contracts as Kalshi reports them: positive holds YES, negative holds NO.';
CREATE UNIQUE INDEX exchange_positions_one_current_uq ON exchange_positions (account_key, ticker) WHERE row_current_ind;
CREATE INDEX exchange_positions_history_ix ON exchange_positions (account_key, ticker, row_start_ts);
CREATE TRIGGER exchange_positions_scd2_guard BEFORE UPDATE ON exchange_positions
    FOR EACH ROW EXECUTE FUNCTION scd2_only_close_current();

CREATE TABLE exchange_fills (
    id             bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_key    text          NOT NULL CHECK (account_key ~ '^[a-z]+:[a-z]+$'),
    fill_id        text          NOT NULL CHECK (fill_id <> ''),
    order_id       text          NOT NULL CHECK (order_id <> ''),
    ticker         text          NOT NULL CHECK (ticker <> ''),
    outcome_side   text          NOT NULL CHECK (outcome_side IN ('yes', 'no')),
    book_side      text          NOT NULL CHECK (book_side IN ('bid', 'ask')),
    count          numeric(18,2) NOT NULL CHECK (count > 0),
    yes_price      price         NOT NULL CHECK (yes_price BETWEEN 0 AND 1),
    no_price       price         NOT NULL CHECK (no_price BETWEEN 0 AND 1),
    is_taker       boolean       NOT NULL,
    fee_cost       numeric(18,4) NOT NULL CHECK (fee_cost >= 0),
    created_time   timestamptz,
    recorded_at    timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (account_key, fill_id)
);
COMMENT ON TABLE exchange_fills IS 'Append-only: every fill of the account as the exchange reports it (GET /portfolio/fills), once per fill_id.';
CREATE INDEX exchange_fills_order_ix ON exchange_fills (account_key, order_id);

CREATE TABLE exchange_settlements (
    id              bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_key     text          NOT NULL CHECK (account_key ~ '^[a-z]+:[a-z]+$'),
    ticker          text          NOT NULL CHECK (ticker <> ''),
    event_ticker    text          NOT NULL,
    market_result   text          NOT NULL CHECK (market_result IN ('yes', 'no', 'scalar', 'void')),
    yes_count       numeric(18,2) NOT NULL CHECK (yes_count >= 0),
    no_count        numeric(18,2) NOT NULL CHECK (no_count >= 0),
    yes_total_cost  numeric(18,4) NOT NULL,
    no_total_cost   numeric(18,4) NOT NULL,
    revenue         numeric(18,4) NOT NULL,
    value           price         CHECK (value BETWEEN 0 AND 1),
    fee_cost        numeric(18,4) NOT NULL CHECK (fee_cost >= 0),
    settled_time    timestamptz   NOT NULL,
    recorded_at     timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (account_key, ticker)
);
COMMENT ON TABLE exchange_settlements IS 'Append-only: every settled market of the account as the exchange reports it (GET /portfolio/settlements); revenue and value in dollars.';

CREATE TABLE reconciliations (
    id              bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_key     text          NOT NULL CHECK (account_key ~ '^[a-z]+:[a-z]+$'),
    trading_mode    text          NOT NULL CHECK (trading_mode IN ('paper', 'live')),
    passed          boolean       NOT NULL,
    differences     jsonb         NOT NULL CHECK (jsonb_typeof(differences) = 'array'),
    confirmed       integer       NOT NULL CHECK (confirmed >= 0),
    dagster_run_id  text,
    checked_at      timestamptz   NOT NULL DEFAULT now(),
    CHECK (passed = (confirmed = 0))
);
COMMENT ON TABLE reconciliations IS 'Append-only: each comparison of the exchange''s account with the ledger''s live positions, trades and settlements, with every difference found (confirmed ones fail the run).';
CREATE INDEX reconciliations_account_ix ON reconciliations (account_key, id);

DO $$
DECLARE
    log_table text;
BEGIN
    FOREACH log_table IN ARRAY ARRAY['exchange_fills', 'exchange_settlements', 'reconciliations'] LOOP
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                 FOR EACH ROW EXECUTE FUNCTION reject_append_only_change()',
            log_table || '_append_only', log_table);
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                 FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change()',
            log_table || '_no_truncate', log_table);
    END LOOP;
END;
$$;

-- The SCD Type 2 guards of sql/0064 for the two new histories: no DELETE, no TRUNCATE, no
-- overlapping versions of one key.
DO $do$
DECLARE
    history record;
    key_match text;
BEGIN
    FOR history IN
        SELECT * FROM (VALUES
            ('exchange_orders', ARRAY['account_key', 'order_id']),
            ('exchange_positions', ARRAY['account_key', 'ticker'])
        ) AS t (table_name, business_key)
    LOOP
        key_match := (SELECT string_agg(format('v.%1$I = NEW.%1$I', k), ' AND ') FROM unnest(history.business_key) k);
        EXECUTE format($f$
            CREATE FUNCTION %1$I() RETURNS trigger
            LANGUAGE plpgsql AS $body$
            DECLARE
                overlapped bigint;
            BEGIN
                IF NEW.row_current_ind THEN
                    SELECT v.id INTO overlapped FROM (
                        SELECT v.id, v.row_end_ts FROM %2$I v
                         WHERE %3$s ORDER BY v.row_start_ts DESC LIMIT 1) v
                     WHERE v.row_end_ts IS NULL OR v.row_end_ts > NEW.row_start_ts;
                ELSE
                    LOCK TABLE %2$I IN SHARE ROW EXCLUSIVE MODE;
                    SELECT v.id INTO overlapped FROM %2$I v
                     WHERE %3$s AND v.row_start_ts >= NEW.row_start_ts AND v.row_start_ts < NEW.row_end_ts
                     LIMIT 1;
                    IF overlapped IS NULL THEN
                        SELECT v.id INTO overlapped FROM (
                            SELECT v.id, v.row_end_ts FROM %2$I v
                             WHERE %3$s AND v.row_start_ts < NEW.row_start_ts
                             ORDER BY v.row_start_ts DESC LIMIT 1) v
                         WHERE v.row_end_ts IS NULL OR v.row_end_ts > NEW.row_start_ts;
                    END IF;
                END IF;
                IF overlapped IS NOT NULL THEN
                    RAISE EXCEPTION '%2$s: a version from %% to %% overlaps version id %% of the same key',
                        NEW.row_start_ts, coalesce(NEW.row_end_ts::text, 'now (current)'), overlapped
                        USING ERRCODE = 'exclusion_violation',
                              CONSTRAINT = '%2$s_versions_do_not_overlap',
                              HINT = 'versions of one key follow each other: close the current version and insert its successor';
                END IF;
                RETURN NEW;
            END;
            $body$
            $f$, history.table_name || '_versions_do_not_overlap', history.table_name, key_match);
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW EXECUTE FUNCTION %I()',
            history.table_name || '_versions_do_not_overlap', history.table_name,
            history.table_name || '_versions_do_not_overlap');
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE DELETE ON %I
                 FOR EACH ROW EXECUTE FUNCTION reject_append_only_change()',
            history.table_name || '_no_delete', history.table_name);
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                 FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change()',
            history.table_name || '_no_truncate', history.table_name);
    END LOOP;
END;
$do$;

SELECT install_price_scale_trigger('exchange_orders', ARRAY['yes_price']);
SELECT install_price_scale_trigger('exchange_fills', ARRAY['yes_price', 'no_price']);
SELECT install_price_scale_trigger('exchange_settlements', ARRAY['value']);
SELECT add_finite_number_checks();
