-- Kalshi series, events and markets. Markets are SCD Type 2: one version per observed
-- change of a tracked field, anchored to market_tickers, which never changes.

CREATE TABLE series (
    id                 bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_id        text         NOT NULL DEFAULT 'kalshi' REFERENCES platforms (platform_id),
    ticker             text         NOT NULL UNIQUE CHECK (ticker ~ '^[A-Z0-9][A-Z0-9._-]*$'),
    title              text         NOT NULL,
    category           text,
    frequency          text,
    tags               text[],
    fee_type           text         NOT NULL CHECK (fee_type IN
                           ('quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees', 'flat')),
    fee_multiplier     numeric(10,4) NOT NULL CHECK (fee_multiplier >= 0),
    settlement_sources jsonb,
    last_updated_ts    timestamptz,
    first_seen_at      timestamptz  NOT NULL DEFAULT now(),
    updated_at         timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id                      bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_ticker            text          NOT NULL UNIQUE CHECK (event_ticker ~ '^[A-Z0-9][A-Z0-9._-]*$'),
    series_ticker           text          NOT NULL REFERENCES series (ticker),
    title                   text          NOT NULL,
    sub_title               text,
    mutually_exclusive      boolean       NOT NULL,
    collateral_return_type  text,
    strike_date             timestamptz,
    strike_period           text,
    fee_type_override       text          CHECK (fee_type_override IN
                                ('quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees', 'flat')),
    fee_multiplier_override numeric(10,4) CHECK (fee_multiplier_override >= 0),
    last_updated_ts         timestamptz,
    first_seen_at           timestamptz   NOT NULL DEFAULT now(),
    updated_at              timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX events_series_ix ON events (series_ticker);

-- The stable identity of a market. Positions, trades, edges and settlements point here,
-- never at a market version row that a later snapshot will close.
CREATE TABLE market_tickers (
    ticker         text        PRIMARY KEY CHECK (ticker ~ '^[A-Z0-9][A-Z0-9._-]*$'),
    event_ticker   text        NOT NULL REFERENCES events (event_ticker),
    platform_id    text        NOT NULL DEFAULT 'kalshi' REFERENCES platforms (platform_id),
    first_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX market_tickers_event_ix ON market_tickers (event_ticker);

CREATE TABLE markets (
    id                        bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticker                    text          NOT NULL REFERENCES market_tickers (ticker),
    event_ticker              text          NOT NULL REFERENCES events (event_ticker),
    market_type               text          NOT NULL CHECK (market_type IN ('binary', 'scalar')),
    title                     text,
    yes_sub_title             text,
    no_sub_title              text,
    status                    text          NOT NULL CHECK (status IN
                                  ('initialized', 'active', 'inactive', 'closed', 'determined',
                                   'disputed', 'amended', 'finalized')),
    yes_bid                   numeric(10,4) NOT NULL CHECK (yes_bid BETWEEN 0 AND 1),
    yes_ask                   numeric(10,4) NOT NULL CHECK (yes_ask BETWEEN 0 AND 1),
    no_bid                    numeric(10,4) NOT NULL CHECK (no_bid BETWEEN 0 AND 1),
    no_ask                    numeric(10,4) NOT NULL CHECK (no_ask BETWEEN 0 AND 1),
    last_price                numeric(10,4) NOT NULL CHECK (last_price BETWEEN 0 AND 1),
    yes_bid_size              numeric(18,2) NOT NULL CHECK (yes_bid_size >= 0),
    yes_ask_size              numeric(18,2) NOT NULL CHECK (yes_ask_size >= 0),
    volume                    numeric(18,2) NOT NULL CHECK (volume >= 0),
    volume_24h                numeric(18,2) NOT NULL CHECK (volume_24h >= 0),
    open_interest             numeric(18,2) NOT NULL CHECK (open_interest >= 0),
    notional_value            numeric(10,4) NOT NULL CHECK (notional_value >= 0),
    result                    text          NOT NULL DEFAULT '' CHECK (result IN ('yes', 'no', 'scalar', '')),
    settlement_value          numeric(10,4) CHECK (settlement_value BETWEEN 0 AND 1),
    expiration_value          text,
    open_time                 timestamptz   NOT NULL,
    close_time                timestamptz   NOT NULL,
    expected_expiration_time  timestamptz,
    latest_expiration_time    timestamptz,
    occurrence_datetime       timestamptz,
    settlement_ts             timestamptz,
    can_close_early           boolean,
    updated_time              timestamptz,
    row_current_ind           boolean       NOT NULL DEFAULT true,
    row_start_ts              timestamptz   NOT NULL DEFAULT now(),
    row_end_ts                timestamptz,
    CONSTRAINT markets_validity_ck CHECK (
        (row_current_ind AND row_end_ts IS NULL)
        OR (NOT row_current_ind AND row_end_ts IS NOT NULL AND row_end_ts > row_start_ts)
    )
);
COMMENT ON TABLE markets IS 'SCD Type 2 history of Kalshi markets: a new version when prices, sizes, status, result or close time changed.';
COMMENT ON COLUMN markets.result IS 'Kalshi''s result verbatim: yes, no, scalar, or the empty string while undetermined.';
CREATE UNIQUE INDEX markets_one_current_uq ON markets (ticker) WHERE row_current_ind;
CREATE INDEX markets_history_ix ON markets (ticker, row_start_ts);
CREATE INDEX markets_current_status_ix ON markets (status) WHERE row_current_ind;
CREATE TRIGGER markets_scd2_guard BEFORE UPDATE ON markets
    FOR EACH ROW EXECUTE FUNCTION scd2_only_close_current();

-- Rows from the exchange or ESPN that failed validation, kept with the reason so that
-- the rest of their batch can load.
CREATE TABLE ingestion_rejects (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text        NOT NULL REFERENCES platforms (platform_id),
    entity        text        NOT NULL CHECK (entity IN ('series', 'event', 'market', 'game_state')),
    business_key  text,
    reason        text        NOT NULL,
    payload       jsonb       NOT NULL,
    run_id        text,
    rejected_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingestion_rejects_entity_ix ON ingestion_rejects (source, entity, rejected_at);
