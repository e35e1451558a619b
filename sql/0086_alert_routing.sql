-- Alerts by severity (issue 14): a person acknowledges an open alert (`precog alerts ack ID`),
-- and every delivery of an alert to a channel of the routing file is recorded, delivered or
-- failed, in an append-only log (lib/alert_delivery.py).
ALTER TABLE alerts
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text CHECK (acknowledged_by IS NULL OR length(acknowledged_by) BETWEEN 1 AND 200),
    ADD CONSTRAINT alerts_acknowledged_by_whom CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL));

CREATE TABLE alert_deliveries (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id          bigint      NOT NULL REFERENCES alerts (id),
    -- The channel's name in the routing file, and its type.
    channel           text        NOT NULL CHECK (length(channel) BETWEEN 1 AND 100),
    channel_type      text        NOT NULL CHECK (channel_type IN ('log', 'file', 'webhook', 'slack', 'email')),
    -- What was sent: the alert's severity and occurrence count at the time.
    severity          text        NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    occurrence_count  integer     NOT NULL CHECK (occurrence_count >= 1),
    state             text        NOT NULL CHECK (state IN ('delivered', 'failed')),
    attempts          integer     NOT NULL CHECK (attempts >= 1),
    -- Why the last attempt failed: an error class and status, never a URL, address or secret.
    error             text        CHECK (error IS NULL OR length(error) <= 500),
    attempted_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((state = 'failed') = (error IS NOT NULL))
);
COMMENT ON TABLE alert_deliveries IS 'Append-only: each delivery of an alert to a routing channel, delivered or failed.';
-- The deduplication window looks up the last delivery of an alert to a channel.
CREATE INDEX alert_deliveries_alert_channel_ix ON alert_deliveries (alert_id, channel, attempted_at DESC);

CREATE TRIGGER alert_deliveries_append_only BEFORE UPDATE OR DELETE ON alert_deliveries
    FOR EACH ROW EXECUTE FUNCTION reject_append_only_change();
CREATE TRIGGER alert_deliveries_no_truncate BEFORE TRUNCATE ON alert_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change();
