-- 0063 for the evaluation and backtest tables (0060, 0061): backtest prices
-- become the exact `price` domain, stored at scale 4, and every numeric column refuses NaN and
-- the infinities (issue 18, finding 4).
ALTER TABLE backtest_runs ALTER COLUMN half_spread TYPE price;
ALTER TABLE backtest_trades ALTER COLUMN entry_price TYPE price;
ALTER TABLE backtest_trades ALTER COLUMN exit_price TYPE price;

SELECT install_price_scale_trigger('backtest_runs', ARRAY['half_spread']);
SELECT install_price_scale_trigger('backtest_trades', ARRAY['entry_price', 'exit_price']);

SELECT add_finite_number_checks();
