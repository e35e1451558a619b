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
    'Stored at scale 4 by round_to_price_scale().';

-- Stores the named price columns at scale 4, the representation numeric(10,4) gave them. The
-- domain has already refused any value this would change, so it only pads: 0.5 becomes 0.5000.
CREATE FUNCTION round_to_price_scale() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    stored jsonb := to_jsonb(NEW);
    padded jsonb := '{}';
    column_name text;
BEGIN
    FOREACH column_name IN ARRAY TG_ARGV LOOP
        IF stored ->> column_name IS NOT NULL THEN
            padded := padded || jsonb_build_object(column_name, round((stored ->> column_name)::numeric, 4));
        END IF;
    END LOOP;
    RETURN jsonb_populate_record(NEW, padded);
END;
$$;

DO $$
DECLARE
    priced record;
    price_column text;
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
        FOREACH price_column IN ARRAY priced.columns LOOP
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE price', priced.table_name, price_column);
        END LOOP;
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %I
                 FOR EACH ROW EXECUTE FUNCTION round_to_price_scale(%s)',
            priced.table_name || '_price_scale', priced.table_name,
            (SELECT string_agg(quote_literal(c), ', ') FROM unnest(priced.columns) AS c));
    END LOOP;
END;
$$;

-- Every other numeric column: finite numbers only, by a CHECK named <table>_<column>_finite.
-- A function, so that a migration adding numeric columns calls it again (it skips columns that
-- already have their check); test_schema keeps every numeric column covered.
CREATE FUNCTION add_finite_number_checks() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    numeric_column record;
    added integer := 0;
BEGIN
    FOR numeric_column IN
        SELECT c.table_name, c.column_name, c.table_name || '_' || c.column_name || '_finite' AS check_name
          FROM information_schema.columns c
          JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
           AND c.data_type = 'numeric' AND c.domain_name IS NULL
         ORDER BY c.table_name, c.ordinal_position
    LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_constraint
                               WHERE conrelid = numeric_column.table_name::regclass
                                 AND conname = numeric_column.check_name);
        EXECUTE format(
            'ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I NOT IN (''NaN'', ''Infinity'', ''-Infinity''))',
            numeric_column.table_name, numeric_column.check_name, numeric_column.column_name);
        added := added + 1;
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
