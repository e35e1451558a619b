-- The price-scale triggers run their PL/pgSQL only for a row that has a price to pad (issue 16,
-- item 2: a first merge of 100,000 markets spent about 0.3 s calling markets_price_scale for rows
-- whose prices were all at scale 4 already, and every closing UPDATE called it again).
--
-- Same result: the function rounds each listed price to scale 4, which changes a value exactly
-- when its scale is not 4 (the price domain has refused any value rounding would alter, so it
-- only pads). The trigger now carries that as its WHEN condition, evaluated by the executor
-- without entering PL/pgSQL; a NULL price makes its term NULL, i.e. nothing to pad, as before.
CREATE OR REPLACE FUNCTION install_price_scale_trigger(table_name text, price_columns text[]) RETURNS void
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
    EXECUTE format('CREATE TRIGGER %1$I BEFORE INSERT OR UPDATE ON %2$I FOR EACH ROW WHEN (%3$s) EXECUTE FUNCTION %1$I()',
                   table_name || '_price_scale', table_name,
                   (SELECT string_agg(format('scale(NEW.%1$I) <> 4', c), ' OR ') FROM unnest(price_columns) AS c));
END;
$install$;

-- Reinstall every existing one with its own columns, read back from the function it calls
-- (one "NEW.<column> := round(...)" per price), so no list is restated here.
DO $$
DECLARE
    installed record;
BEGIN
    FOR installed IN
        SELECT c.relname AS table_name,
               array(SELECT m[1] FROM regexp_matches(p.prosrc, 'NEW\.("?[a-z_0-9]+"?) := round', 'g') AS m) AS columns
          FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE t.tgname = c.relname || '_price_scale' AND p.proname = c.relname || '_price_scale'
    LOOP
        PERFORM install_price_scale_trigger(installed.table_name, installed.columns);
    END LOOP;
END;
$$;
