-- Change detection before staging (issue 16, item 2): the current version of each key of a
-- merged SCD Type 2 table has the hash of its tracked columns stored beside it, so a merge reads
-- (business key, hash, start) of the current versions and sends the server only the rows whose
-- hash differs (lib/warehouse/scd2_merge.py).
--
-- Beside the versions, not in them: a version row never changes except to be closed
-- (scd2_only_close_current), and the hash is not history but a cache of how the merge last
-- spelled the same tracked values. It is keyed by the version's id, so a hash can only ever
-- describe the version it was computed for; a version without one (written by other code, or
-- before this table existed) counts as changed, and the merge stores its hash once it has
-- compared it on the server. No backfill: the first merge after this migration stages each
-- current key once. The merge deletes the hash of every version it closes, so each table holds
-- about one row per current key.
--
-- No foreign key to the versions: they are never deleted (sql/0064) and identity ids are never
-- reused, and the check would cost an index probe per inserted version.

CREATE TABLE markets_tracked_hashes (
    version_id    bigint PRIMARY KEY,
    tracked_hash  bytea  NOT NULL CHECK (octet_length(tracked_hash) = 16)
);
CREATE TABLE game_states_tracked_hashes (
    version_id    bigint PRIMARY KEY,
    tracked_hash  bytea  NOT NULL CHECK (octet_length(tracked_hash) = 16)
);
CREATE TABLE edges_tracked_hashes (
    version_id    bigint PRIMARY KEY,
    tracked_hash  bytea  NOT NULL CHECK (octet_length(tracked_hash) = 16)
);

COMMENT ON TABLE markets_tracked_hashes IS 'BLAKE2b-128 of the tracked columns of a current markets version, as the merge staged them; a cache, absent means compare on the server.';
COMMENT ON TABLE game_states_tracked_hashes IS 'BLAKE2b-128 of the tracked columns of a current game_states version, as the merge staged them; a cache, absent means compare on the server.';
COMMENT ON TABLE edges_tracked_hashes IS 'BLAKE2b-128 of the tracked columns of a current edges version, as the merge staged them; a cache, absent means compare on the server.';
