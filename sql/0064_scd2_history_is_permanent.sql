-- SCD Type 2 history cannot be rewritten (issue 18, finding 5). Until now only UPDATE was guarded
-- (scd2_only_close_current): a version could be deleted, a table truncated, and a closed version
-- inserted over the span of another. Now, as for the append-only ledger:
--   * DELETE and TRUNCATE are refused by the ledger's own function, reject_append_only_change();
--   * the versions of one business key never overlap: a new version's half-open span
--     [row_start_ts, row_end_ts) (open-ended while current) may touch but not overlap another's.
--
-- Why a trigger and not an exclusion constraint: EXCLUDE USING gist (key WITH =, span WITH &&)
-- needs the btree_gist extension, which the embedded server of `precog dev` (pgserver) does not
-- ship. The trigger checks only INSERT: the one UPDATE scd2_only_close_current allows closes the
-- current version, which shortens its span and cannot create an overlap.
--
-- Concurrency: two current versions of a key cannot both commit (the partial unique index
-- *_one_current_uq), and every product write inserts current versions only. An INSERT of an
-- already closed version (a backfill, a hand-written fix) first locks the table against other
-- writers (SHARE ROW EXCLUSIVE), so no concurrent insert can slip past its check.

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
            ('account_balance', ARRAY['account_key'])
        ) AS t (table_name, business_key)
    LOOP
        key_match := (SELECT string_agg(format('v.%1$I = NEW.%1$I', k), ' AND ') FROM unnest(history.business_key) k);
        -- Versions of a key never overlap, so they end in the order they start. A new current
        -- version [s, now) overlaps another exactly when the latest-starting one ends after s (or
        -- has not ended): one probe. A closed one can overlap only a version starting inside it or
        -- the latest one starting before it: two probes. Each walks <table>_history_ix
        -- (business key, row_start_ts) for one row.
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
