-- 0040 for the tables created after it (0060 model evaluation, 0061 backtests): backtest prices
-- become the exact `price` domain, stored at scale 4, and every numeric column refuses NaN and
-- the infinities (issue 18, finding 4).
ALTER TABLE backtest_runs ALTER COLUMN half_spread TYPE price;
ALTER TABLE backtest_trades ALTER COLUMN entry_price TYPE price;
ALTER TABLE backtest_trades ALTER COLUMN exit_price TYPE price;

CREATE TRIGGER backtest_runs_price_scale BEFORE INSERT OR UPDATE ON backtest_runs
    FOR EACH ROW EXECUTE FUNCTION round_to_price_scale('half_spread');
CREATE TRIGGER backtest_trades_price_scale BEFORE INSERT OR UPDATE ON backtest_trades
    FOR EACH ROW EXECUTE FUNCTION round_to_price_scale('entry_price', 'exit_price');

SELECT add_finite_number_checks();
