-- The overlap guard of sql/0064 and sql/0130 for current versions, once per statement instead of
-- once per row (issue 16: a first load of 100,000 markets spent 0.3 s of its 1.4 s INSERT in
-- 100,000 PL/pgSQL calls of the row trigger).
--
-- Same refusal: a new current version [s, now) overlaps another version of its key exactly when
-- the latest-starting other version has not ended or ends after s (versions of a key never
-- overlap, so they end in the order they start). The statement trigger below finds that for
-- every current version the statement inserted, in one query over its transition table: one
-- index probe of <table>_history_ix per row, in the executor rather than in PL/pgSQL. It runs
-- after the statement's rows are written and refuses the whole statement, with the same message,
-- error code and constraint name as the row trigger; nothing of the statement is kept.
--
-- Closed versions (a backfill, a hand-written fix) keep the row trigger, which takes the table
-- lock before its two probes; a WHEN clause now fires it for them only, so the merges' inserts of
-- current versions never enter PL/pgSQL per row.

DO $do$
DECLARE
    history record;
    key_match text;
BEGIN
    FOR history IN
        SELECT * FROM (VALUES
            ('markets', ARRAY['ticker']),
            ('game_states', ARRAY['external_game_id']),
            ('edges', ARRAY['ticker', 'side', 'model_id']),
            ('positions', ARRAY['position_key']),
            ('account_balance', ARRAY['account_key']),
            ('exchange_orders', ARRAY['account_key', 'order_id']),
            ('exchange_positions', ARRAY['account_key', 'ticker'])
        ) AS t (table_name, business_key)
    LOOP
        key_match := (SELECT string_agg(format('v.%1$I = n.%1$I', k), ' AND ') FROM unnest(history.business_key) k);
        EXECUTE format('DROP TRIGGER %I ON %I', history.table_name || '_versions_do_not_overlap', history.table_name);
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW WHEN (NOT NEW.row_current_ind)
                 EXECUTE FUNCTION %I()',
            history.table_name || '_versions_do_not_overlap', history.table_name,
            history.table_name || '_versions_do_not_overlap');
        EXECUTE format($f$
            CREATE FUNCTION %1$I() RETURNS trigger
            LANGUAGE plpgsql AS $body$
            DECLARE
                clash record;
            BEGIN
                SELECT n.row_start_ts AS started, v.id AS overlapped INTO clash
                  FROM inserted n
                  CROSS JOIN LATERAL (
                      SELECT v.id, v.row_end_ts FROM %2$I v
                       WHERE %3$s AND v.id <> n.id ORDER BY v.row_start_ts DESC LIMIT 1) v
                 WHERE n.row_current_ind AND (v.row_end_ts IS NULL OR v.row_end_ts > n.row_start_ts)
                 LIMIT 1;
                IF FOUND THEN
                    RAISE EXCEPTION '%2$s: a version from %% to now (current) overlaps version id %% of the same key',
                        clash.started, clash.overlapped
                        USING ERRCODE = 'exclusion_violation',
                              CONSTRAINT = '%4$s',
                              HINT = 'versions of one key follow each other: close the current version and insert its successor';
                END IF;
                RETURN NULL;
            END;
            $body$
            $f$, history.table_name || '_current_versions_do_not_overlap', history.table_name, key_match,
                 history.table_name || '_versions_do_not_overlap');
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS inserted
                 FOR EACH STATEMENT EXECUTE FUNCTION %I()',
            history.table_name || '_current_versions_do_not_overlap', history.table_name,
            history.table_name || '_current_versions_do_not_overlap');
    END LOOP;
END;
$do$;
