-- Marks (issue 13, item 4): what each open position is worth now. Every evaluation of the exit
-- sensor appends a row per open position whose mark, peak or unrealized P&L changed since its
-- last row (lib/trading/marks.py), so the history of a position's value is kept without writing
-- a positions version per price tick (positions versions mean a change of the position itself:
-- opened, quantity, closed, settled). Append-only.
CREATE TABLE position_marks (
    id                 bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position_key       text          NOT NULL,
    position_id        bigint        NOT NULL REFERENCES positions (id),
    mark_price         price         NOT NULL,
    peak_price         price         NOT NULL,
    unrealized_pnl     numeric(18,4) NOT NULL,
    market_version_id  bigint        NOT NULL REFERENCES markets (id),
    marked_at          timestamptz   NOT NULL,
    recorded_at        timestamptz   NOT NULL DEFAULT now()
);
COMMENT ON TABLE position_marks IS 'Append-only: a position''s mark, peak and unrealized P&L, one row each time one of them (or the positions version) changed, written by position_exit_sensor.';
COMMENT ON COLUMN position_marks.position_id IS 'The positions version marked: its quantity and entry fee are the ones the unrealized P&L is computed from.';
COMMENT ON COLUMN position_marks.mark_price IS 'The bid of the side held in the current market version: the price selling now would get.';
COMMENT ON COLUMN position_marks.peak_price IS 'The highest bid of the side held since the position''s version started (never below the entry price): the trailing stop trails it.';
COMMENT ON COLUMN position_marks.unrealized_pnl IS 'Dollars: the realized P&L a taker sale of the whole quantity at the mark would book now, quantity x (mark - entry price) - entry fee - taker fee at the mark (lib/trading/pnl.unrealized_pnl).';
COMMENT ON COLUMN position_marks.market_version_id IS 'The markets version the mark was read from.';
CREATE INDEX position_marks_latest_ix ON position_marks (position_key, marked_at DESC, id DESC);
CREATE INDEX position_marks_version_ix ON position_marks (position_id, marked_at DESC, id DESC);

CREATE TRIGGER position_marks_append_only BEFORE UPDATE OR DELETE ON position_marks
    FOR EACH ROW EXECUTE FUNCTION reject_append_only_change();
CREATE TRIGGER position_marks_no_truncate BEFORE TRUNCATE ON position_marks
    FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change();

-- sql/0004 promised a positions version whenever the peak moved; nothing ever wrote one. The mark
-- and the peak live in position_marks instead; say so where the schema is read.
COMMENT ON TABLE positions IS 'SCD Type 2: one version per change of the position itself (opened, quantity after a partial exit, closed or settled). Its mark, peak and unrealized P&L are in position_marks, not in new versions.';
COMMENT ON COLUMN positions.peak_price IS 'The entry price when opened; never revised. The trailing stop''s peak since then is position_marks.peak_price.';
COMMENT ON COLUMN positions.current_price IS 'The fill price at entry, or at exit once closed (NULL once settled); not a live mark. The mark is position_marks.mark_price.';

-- Each open position (its current version) with the latest mark of that version. A position
-- opened (or revised) since the last sensor evaluation has no mark yet: its mark columns are NULL.
CREATE VIEW open_positions AS
SELECT p.position_key,
       p.id                                   AS position_id,
       p.ticker,
       p.side,
       p.quantity,
       p.entry_price,
       p.entry_fee,
       p.quantity * p.entry_price + p.entry_fee AS cost,
       s.strategy_name                        AS strategy,
       s.strategy_version,
       p.trading_mode,
       p.opened_at,
       now() - p.opened_at                    AS age,
       k.mark_price,
       k.peak_price,
       k.unrealized_pnl,
       k.marked_at
  FROM positions p
  JOIN strategies s ON s.id = p.strategy_id
  LEFT JOIN LATERAL (
        SELECT mark_price, peak_price, unrealized_pnl, marked_at
          FROM position_marks
         WHERE position_id = p.id
         ORDER BY marked_at DESC, id DESC
         LIMIT 1) k ON true
 WHERE p.row_current_ind AND p.status = 'open';
COMMENT ON VIEW open_positions IS 'Each open position (current version) with its latest mark, unrealized P&L and age; `precog positions` prints it.';

SELECT install_price_scale_trigger('position_marks', ARRAY['mark_price', 'peak_price']);
SELECT add_finite_number_checks();
