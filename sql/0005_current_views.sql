-- Views of the current version of every SCD Type 2 table.

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
