-- Kalshi price history (issue 16, item 3): the candlesticks of the configured series' markets,
-- backfilled day by day (the kalshi_candlesticks asset) from
-- GET /series/{s}/markets/{t}/candlesticks. One row per (ticker, period, end of period), written
-- once: a re-run of a day inserts nothing (ON CONFLICT DO NOTHING). Prices are the domain
-- `price` (dollars, at most four decimals); counts numeric(18,2) like markets.volume.
-- The backtest replays these as price paths for markets the warehouse never saw as versions
-- (lib/backtest/candle_paths.py), which is why each row also carries what Kalshi said about its
-- market when the day was backfilled: its close time and result.
CREATE TABLE market_candles (
    ticker             text          NOT NULL REFERENCES market_tickers (ticker),
    period_interval    smallint      NOT NULL CHECK (period_interval IN (1, 60, 1440)),
    end_period_ts      timestamptz   NOT NULL,
    yes_bid_open       price         NOT NULL,
    yes_bid_low        price         NOT NULL,
    yes_bid_high       price         NOT NULL,
    yes_bid_close      price         NOT NULL,
    yes_ask_open       price         NOT NULL,
    yes_ask_low        price         NOT NULL,
    yes_ask_high       price         NOT NULL,
    yes_ask_close      price         NOT NULL,
    price_open         price,
    price_low          price,
    price_high         price,
    price_close        price,
    price_mean         price,
    price_previous     price,
    volume             numeric(18,2) NOT NULL CHECK (volume >= 0),
    open_interest      numeric(18,2) NOT NULL CHECK (open_interest >= 0),
    market_close_time  timestamptz   NOT NULL,
    market_result      text          NOT NULL CHECK (market_result IN ('yes', 'no', 'scalar', '')),
    fetched_at         timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (ticker, period_interval, end_period_ts),
    CHECK (yes_bid_low <= yes_bid_high AND yes_ask_low <= yes_ask_high)
);
COMMENT ON TABLE market_candles IS
    'Append-only Kalshi candlesticks (1-minute, hourly or daily) of markets closed on a backfilled day; each candle stored once.';
COMMENT ON COLUMN market_candles.end_period_ts IS 'End of the period the candle covers: (end_period_ts - period_interval, end_period_ts].';
COMMENT ON COLUMN market_candles.price_close IS 'Last trade price of the period; NULL when nothing traded in it.';
COMMENT ON COLUMN market_candles.volume IS 'Contracts traded within the period (not cumulative).';
COMMENT ON COLUMN market_candles.market_close_time IS 'The market''s close_time when the day was backfilled.';
COMMENT ON COLUMN market_candles.market_result IS 'The market''s result when the day was backfilled (empty while undetermined).';
CREATE INDEX market_candles_end_ix ON market_candles (end_period_ts);

CREATE TRIGGER market_candles_append_only BEFORE UPDATE OR DELETE ON market_candles
    FOR EACH ROW EXECUTE FUNCTION reject_append_only_change();
CREATE TRIGGER market_candles_no_truncate BEFORE TRUNCATE ON market_candles
    FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change();

-- A candle that fails to parse or store is quarantined like any other API record.
ALTER TABLE ingestion_rejects DROP CONSTRAINT ingestion_rejects_entity_check;
ALTER TABLE ingestion_rejects ADD CONSTRAINT ingestion_rejects_entity_check
    CHECK (entity IN ('series', 'event', 'market', 'game_state', 'candle'));

SELECT install_price_scale_trigger('market_candles', ARRAY[
    'yes_bid_open', 'yes_bid_low', 'yes_bid_high', 'yes_bid_close', 'yes_ask_open', 'yes_ask_low', 'yes_ask_high',
    'yes_ask_close', 'price_open', 'price_low', 'price_high', 'price_close', 'price_mean', 'price_previous']);
SELECT add_finite_number_checks();
