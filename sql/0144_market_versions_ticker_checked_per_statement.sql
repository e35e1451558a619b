-- A market version's (ticker, event_ticker) is checked once per statement instead of once per row
-- (issue 16: of a first load's 1.38 s INSERT of 100,000 markets, the foreign key's 100,000
-- row-by-row checks took 0.50 s; the one query below takes 0.14 s), as sql/0142 did for the
-- overlap guard.
--
-- Same refusal: a version whose (ticker, event_ticker) is not a row of market_tickers is refused
-- at the end of its statement with the foreign key's error code, constraint name and message, and
-- nothing of the statement is kept. What a foreign key adds beyond that, locking the referenced
-- row so it cannot be deleted or re-keyed before the insert commits, market_tickers now gets by
-- never changing: it was written only by INSERT ... ON CONFLICT DO NOTHING (sql/0003 calls it
-- "market_tickers, which never changes"), and now refuses UPDATE, DELETE and TRUNCATE like the
-- append-only tables. A ticker once seen stays, with its event, for every table anchored to it.
--
-- Versions are immutable once written (scd2_only_close_current refuses any change but closing),
-- so an UPDATE cannot change the pair and needs no check.

ALTER TABLE markets DROP CONSTRAINT markets_ticker_event_fkey;

CREATE FUNCTION markets_versions_reference_their_ticker() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    orphan record;
BEGIN
    SELECT n.ticker, n.event_ticker INTO orphan
      FROM inserted n
     WHERE NOT EXISTS (SELECT FROM market_tickers m WHERE m.ticker = n.ticker AND m.event_ticker = n.event_ticker)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "markets" violates foreign key constraint "markets_ticker_event_fkey"'
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'markets_ticker_event_fkey',
                  DETAIL = format('Key (ticker, event_ticker)=(%s, %s) is not present in table "market_tickers".',
                                  orphan.ticker, orphan.event_ticker);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_versions_reference_their_ticker AFTER INSERT ON markets
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION markets_versions_reference_their_ticker();

CREATE TRIGGER market_tickers_append_only BEFORE UPDATE OR DELETE ON market_tickers
    FOR EACH ROW EXECUTE FUNCTION reject_append_only_change();
CREATE TRIGGER market_tickers_no_truncate BEFORE TRUNCATE ON market_tickers
    FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change();

COMMENT ON TABLE market_tickers IS
    'One row per market ever seen, never changed: the anchor of positions, trades, edges, settlements '
    'and (checked per statement, sql/0144) every market version.';
