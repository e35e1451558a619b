-- Incremental market ingestion (issue 16): the exchange time of the last successful tick per
-- source and scope (for Kalshi markets: per series). A tick asks only for what can have changed
-- since then (open, closed and recently settled markets). Written in the same transaction as the
-- merge it describes, so a crash or a refused batch never moves it ahead of the data; and it only
-- moves forward (a late, older tick cannot pull it back).
CREATE TABLE ingestion_watermarks (
    source        text        NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    scope         text        NOT NULL CHECK (length(scope) BETWEEN 1 AND 200),
    -- The exchange's clock (its HTTP Date) at the tick's first response: anything that changes
    -- later is in the next tick's window.
    watermark_ts  timestamptz NOT NULL,
    run_id        text        CHECK (run_id IS NULL OR length(run_id) BETWEEN 1 AND 100),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, scope)
);
COMMENT ON TABLE ingestion_watermarks IS
    'Exchange time of the last successful incremental ingestion tick per source and scope; moves forward only.';
