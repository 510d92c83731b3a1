-- cnsgate registry, schema version 1 (SQLite).
-- Times are UTC RFC 3339 text of fixed width ("2006-01-02T15:04:05.000000Z"),
-- so that text order is time order.

-- A card bound to a fiscal code. At most one active card per fiscal code.
CREATE TABLE registrations (
    id            INTEGER PRIMARY KEY,
    fiscal_code   TEXT NOT NULL,
    card_id       TEXT NOT NULL DEFAULT '',
    issuer        TEXT NOT NULL DEFAULT '',
    serial        TEXT NOT NULL DEFAULT '',
    fingerprint   TEXT NOT NULL UNIQUE, -- SHA-256 of the certificate, lower-case hex
    given_name    TEXT NOT NULL DEFAULT '',
    family_name   TEXT NOT NULL DEFAULT '',
    region        TEXT NOT NULL DEFAULT '',
    card_type     TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('active', 'replaced', 'revoked')),
    registered_at TEXT NOT NULL,
    last_login_at TEXT,
    replaced_at   TEXT,
    revoked_at    TEXT
);
CREATE UNIQUE INDEX registrations_one_active ON registrations (fiscal_code) WHERE status = 'active';
CREATE INDEX registrations_fiscal_code ON registrations (fiscal_code);

-- Operators (ASL, pharmacies): roles is a JSON array of strings.
CREATE TABLE operators (
    fiscal_code  TEXT PRIMARY KEY,
    roles        TEXT NOT NULL DEFAULT '[]',
    organisation TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- The allowlist of registration mode "allowlist".
CREATE TABLE eligible_citizens (
    fiscal_code TEXT PRIMARY KEY,
    given_name  TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    imported_at TEXT NOT NULL
);

-- The audit trail. kind and outcome are checked by the application, so that
-- new kinds need no migration.
CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    fiscal_code  TEXT NOT NULL DEFAULT '',
    client       TEXT NOT NULL DEFAULT '',
    session_hash TEXT NOT NULL DEFAULT '',
    card_serial  TEXT NOT NULL DEFAULT '',
    issuer       TEXT NOT NULL DEFAULT '',
    remote_ip    TEXT NOT NULL DEFAULT '',
    request_id   TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '' -- JSON text, or empty
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_fiscal_code_at ON audit_events (fiscal_code, at);
