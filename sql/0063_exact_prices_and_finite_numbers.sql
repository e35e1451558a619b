-- The schema refuses a number it cannot store exactly instead of rounding it (issue 18, finding 4).
--
-- A numeric(10,4) column rounds its input to four decimals BEFORE any CHECK constraint or row
-- trigger sees it (1.00001 arrives as 1.0000, -0.00004 as 0.0000, 0.12345 as 0.1235), so no CHECK
-- on such a column can refuse extra digits. Prices therefore move to the domain `price`: a
-- numeric whose checks see the value as written and require it to lie in 0..1 and to be exactly
-- representable in numeric(10,4) (at most four decimals). A row trigger then stores every price
-- at scale 4, as numeric(10,4) did, so readers get the same Decimals as before (0.5 reads 0.5000).
--
-- NaN passes every comparison CHECK the tables had (PostgreSQL sorts NaN above every number, so
-- `volume >= 0` holds for it) and survives a typmod; every other numeric column gains a CHECK
-- refusing NaN and the infinities (a typmod already refuses an infinity; unconstrained numeric
-- columns do not).

-- Views over SELECT * pin their tables' column types; they are recreated unchanged below.
DROP VIEW markets_current, game_states_current, edges_current, positions_current, account_balance_current;

CREATE DOMAIN price AS numeric
    CONSTRAINT price_between_0_and_1 CHECK (VALUE BETWEEN 0 AND 1)
    CONSTRAINT price_at_most_4_decimals CHECK (VALUE = round(VALUE, 4));
COMMENT ON DOMAIN price IS
    'Dollars per contract, 0..1, exactly representable in numeric(10,4): refused, never rounded. '
    'Stored at scale 4 by the <table>_price_scale triggers (install_price_scale_trigger).';

-- Stores a table's price columns at scale 4, the representation numeric(10,4) gave them. The
-- domain has already refused any value this would change, so it only pads: 0.5 becomes 0.5000.
-- One generated function per table (direct assignments, no per-row jsonb): a merge inserts
-- 100,000 market versions through it. A migration adding price columns calls this again.
CREATE FUNCTION install_price_scale_trigger(table_name text, price_columns text[]) RETURNS void
LANGUAGE plpgsql AS $install$
BEGIN
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
         BEGIN
             %2$s
             RETURN NEW;
         END;
         $body$',
        table_name || '_price_scale',
        (SELECT string_agg(format('NEW.%1$I := round(NEW.%1$I, 4);', c), ' ') FROM unnest(price_columns) AS c));
    EXECUTE format('DROP TRIGGER IF EXISTS %1$I ON %2$I', table_name || '_price_scale', table_name);
    EXECUTE format('CREATE TRIGGER %1$I BEFORE INSERT OR UPDATE ON %2$I FOR EACH ROW EXECUTE FUNCTION %1$I()',
                   table_name || '_price_scale', table_name);
END;
$install$;

DO $$
DECLARE
    priced record;
BEGIN
    FOR priced IN
        SELECT * FROM (VALUES
            ('markets', ARRAY['yes_bid', 'yes_ask', 'no_bid', 'no_ask', 'last_price', 'settlement_value']),
            ('edges', ARRAY['execution_price']),
            ('positions', ARRAY['entry_price', 'target_price', 'stop_loss_price', 'trailing_stop_distance',
                                'peak_price', 'current_price', 'exit_price']),
            ('trades', ARRAY['price']),
            ('exit_attempts', ARRAY['limit_price', 'fill_price']),
            ('position_exits', ARRAY['exit_price']),
            ('settlements', ARRAY['settlement_value'])
        ) AS t (table_name, columns)
    LOOP
        -- One ALTER TABLE per table: a domain with checks rewrites the table, once for all columns.
        EXECUTE format('ALTER TABLE %I %s', priced.table_name,
                       (SELECT string_agg(format('ALTER COLUMN %I TYPE price', c), ', ') FROM unnest(priced.columns) c));
        PERFORM install_price_scale_trigger(priced.table_name, priced.columns);
    END LOOP;
END;
$$;

-- Every other numeric column: finite numbers only, by a CHECK named <table>_<column>_finite.
-- A function, so that a migration adding numeric columns calls it again (it skips columns that
-- already have their check); test_schema keeps every numeric column covered.
CREATE FUNCTION add_finite_number_checks() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    unchecked record;
    added integer := 0;
BEGIN
    -- One ALTER TABLE per table, so that its new checks are validated in one scan.
    FOR unchecked IN
        SELECT c.table_name, count(*) AS columns, string_agg(format(
                   'ADD CONSTRAINT %I CHECK (%I NOT IN (''NaN'', ''Infinity'', ''-Infinity''))',
                   c.table_name || '_' || c.column_name || '_finite', c.column_name), ', '
                   ORDER BY c.ordinal_position) AS additions
          FROM information_schema.columns c
          JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
           AND c.data_type = 'numeric' AND c.domain_name IS NULL
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                            WHERE k.conrelid = format('%I', c.table_name)::regclass
                              AND k.conname = c.table_name || '_' || c.column_name || '_finite')
         GROUP BY c.table_name
         ORDER BY c.table_name
    LOOP
        EXECUTE format('ALTER TABLE %I %s', unchecked.table_name, unchecked.additions);
        added := added + unchecked.columns;
    END LOOP;
    RETURN added;
END;
$$;

SELECT add_finite_number_checks();

CREATE VIEW markets_current AS
    SELECT * FROM markets WHERE row_current_ind;

CREATE VIEW game_states_current AS
    SELECT * FROM game_states WHERE row_current_ind;

CREATE VIEW edges_current AS
    SELECT * FROM edges WHERE row_current_ind;

CREATE VIEW positions_current AS
    SELECT * FROM positions WHERE row_current_ind;

CREATE VIEW account_balance_current AS
    SELECT * FROM account_balance WHERE row_current_ind;
