-- Partial exits (issue 13, item 3). An exit order that fills part of a position books that part:
-- one position_exits row per fill (its quantity, price, fee, realized P&L and the share of the
-- entry fee it carries), and the position stays open with the remaining contracts as a new
-- positions version (quantity and entry_fee reduced by what was sold). Until now position_exits
-- held one row per position (position_key UNIQUE); now one row per exit trade of the position.
-- Still append-only (the triggers of 0004 stay).
ALTER TABLE position_exits DROP CONSTRAINT position_exits_position_key_key;
ALTER TABLE position_exits ADD CONSTRAINT position_exits_position_trade_uq UNIQUE (position_key, trade_id);
CREATE INDEX position_exits_position_ix ON position_exits (position_key);

COMMENT ON TABLE position_exits IS
    'Append-only: one row per exit fill of a position (several when an exit fills in parts); the position''s '
    'realized P&L is the sum of its rows plus its settlement.';
COMMENT ON COLUMN position_exits.quantity IS 'Contracts this fill sold (part or all of what the position held).';
COMMENT ON COLUMN position_exits.realized_pnl IS
    'P&L of the contracts this fill sold: proceeds less the exit fee less their cost (quantity x entry price plus '
    'their share of the entry fee: entry_fee x sold / held, to the hundredth of a cent; the last part takes the rest).';
COMMENT ON TABLE positions IS
    'SCD Type 2: one version per change of a position (opened, partly exited, closed or settled). An open version '
    'holds what is still held (quantity and the unsold share of entry_fee); the closed or settled version describes '
    'the whole position: the quantity and entry fee bought, the average exit price and the total realized P&L.';
