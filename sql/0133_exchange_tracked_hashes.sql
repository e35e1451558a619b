-- The exchange's orders and positions (sql/0130) are merged SCD Type 2 tables like markets: their
-- merges detect changes before staging too (sql/0132), so they keep the same hash cache.

CREATE TABLE exchange_orders_tracked_hashes (
    version_id    bigint PRIMARY KEY,
    tracked_hash  bytea  NOT NULL CHECK (octet_length(tracked_hash) = 16)
);
CREATE TABLE exchange_positions_tracked_hashes (
    version_id    bigint PRIMARY KEY,
    tracked_hash  bytea  NOT NULL CHECK (octet_length(tracked_hash) = 16)
);

COMMENT ON TABLE exchange_orders_tracked_hashes IS 'BLAKE2b-128 of the tracked columns of a current exchange_orders version, as the merge staged them; a cache, absent means compare on the server.';
COMMENT ON TABLE exchange_positions_tracked_hashes IS 'BLAKE2b-128 of the tracked columns of a current exchange_positions version, as the merge staged them; a cache, absent means compare on the server.';
