-- SCD Type 2 history cannot be rewritten (issue 18, finding 5). Until now only UPDATE was guarded
-- (scd2_only_close_current): a version could be deleted, a table truncated, and a closed version
-- inserted over the span of another. Now, as for the append-only ledger:
--   * DELETE and TRUNCATE are refused by the ledger's own function, reject_append_only_change();
--   * the versions of one business key never overlap: an exclusion constraint over the key and
--     the half-open span [row_start_ts, row_end_ts) (a current version's span is open-ended).
-- A version closed at t and its successor starting at t touch but do not overlap, which is how
-- every merge and revision writes them. Retired edges leave gaps, which the constraint allows.

CREATE EXTENSION IF NOT EXISTS btree_gist;

DO $$
DECLARE
    history record;
BEGIN
    FOR history IN
        SELECT * FROM (VALUES
            ('markets', 'ticker WITH ='),
            ('game_states', 'external_game_id WITH ='),
            ('edges', 'ticker WITH =, side WITH =, model_id WITH ='),
            ('positions', 'position_key WITH ='),
            ('account_balance', 'account_key WITH =')
        ) AS t (table_name, key_operators)
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE DELETE ON %I
                 FOR EACH ROW EXECUTE FUNCTION reject_append_only_change()',
            history.table_name || '_no_delete', history.table_name);
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                 FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change()',
            history.table_name || '_no_truncate', history.table_name);
        EXECUTE format(
            'ALTER TABLE %I ADD CONSTRAINT %I EXCLUDE USING gist (%s, tstzrange(row_start_ts, row_end_ts) WITH &&)',
            history.table_name, history.table_name || '_versions_do_not_overlap', history.key_operators);
    END LOOP;
END;
$$;
