-- Who created, activated and deactivated each strategy and model version, when and why.
-- strategies and probability_models rows are immutable (only is_active changes, see
-- reject_version_edit in 0001); this append-only log is the history of those changes, written
-- in the same transaction as the change by `precog strategy|model create|activate|deactivate`
-- (lib/versions/store.py).
CREATE TABLE version_activations (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('strategy', 'model')),
    -- strategies.id or probability_models.id (two tables, so no single foreign key); name and
    -- version are repeated so the log reads on its own.
    version_id  integer     NOT NULL,
    name        text        NOT NULL,
    version     text        NOT NULL,
    action      text        NOT NULL CHECK (action IN ('created', 'activated', 'deactivated')),
    actor       text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    -- Activating or deactivating needs a reason; creating may carry one.
    reason      text        CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 2000),
    at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT version_activations_reason_ck CHECK (action = 'created' OR reason IS NOT NULL)
);
COMMENT ON TABLE version_activations IS
    'Append-only: each creation, activation and deactivation of a strategy or model version, with actor and reason.';
CREATE INDEX version_activations_version_ix ON version_activations (kind, version_id, id);

CREATE TRIGGER version_activations_append_only BEFORE UPDATE OR DELETE ON version_activations
    FOR EACH ROW EXECUTE FUNCTION reject_append_only_change();
CREATE TRIGGER version_activations_no_truncate BEFORE TRUNCATE ON version_activations
    FOR EACH STATEMENT EXECUTE FUNCTION reject_append_only_change();

-- The versions earlier migrations seeded: created by a migration, with their description as reason.
INSERT INTO version_activations (kind, version_id, name, version, action, actor, reason, at)
SELECT 'strategy', id, strategy_name, strategy_version, 'created', 'migration', description, created_at
FROM strategies;
INSERT INTO version_activations (kind, version_id, name, version, action, actor, reason, at)
SELECT 'model', id, model_name, model_version, 'created', 'migration', description, created_at
FROM probability_models;
