-- The strategy Precog trades with out of the box, on paper: buy a side whose edge net of
-- fees is at least 3 cents, 25 dollars a trade, at most 250 dollars open at once.
-- Amounts are strings so they load into Decimal exactly.
INSERT INTO strategies (strategy_name, strategy_version, config, description)
VALUES ('default_paper', '1.0', '{
    "min_edge": "0.03",
    "stake_per_trade": "25.00",
    "max_open_exposure": "250.00",
    "exit_rules": {
        "stop_loss": "0.10",
        "profit_target": "0.20",
        "trailing_stop_distance": "0.10",
        "exit_minutes_before_close": 30,
        "limit_attempts": 3
    }
}', 'Default paper-trading strategy seeded by Precog');

-- The paper account starts with 1,000 dollars; every trade, exit and settlement on paper
-- is a new version of this balance.
INSERT INTO account_balance (account_key, platform_id, trading_mode, balance, change_reason)
VALUES ('kalshi:paper', 'kalshi', 'paper', 1000.0000, 'initial');
