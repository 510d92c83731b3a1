-- Tamper-evident audit trail: each event carries its position in the chain
-- (seq), the hash of the event before it and its own hash (auditchain.go).
-- Events written before this migration keep seq 0 and are not chained.
ALTER TABLE audit_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_seq ON audit_events (seq);

-- The head of the chain (one row, locked by each writer): the last chained
-- event, and the highest id of the events that predate the chain.
CREATE TABLE audit_chain (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seq           BIGINT NOT NULL,
    hash          TEXT NOT NULL,
    legacy_max_id BIGINT NOT NULL
);
INSERT INTO audit_chain (id, seq, hash, legacy_max_id) SELECT 1, 0, '', COALESCE(MAX(id), 0) FROM audit_events;

-- Signed checkpoints (kind 'checkpoint') and the anchors retention leaves
-- when it deletes the oldest events (kind 'purge': the last deleted event).
CREATE TABLE audit_checkpoints (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    signature TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (kind, seq);
