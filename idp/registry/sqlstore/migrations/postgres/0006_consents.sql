-- cnsgate registry, schema version 6 (PostgreSQL).
-- The citizen's consent given at registration: the version of the text
-- agreed to, when, and through which channel (web, cli, admin-api). A
-- withdrawal sets withdrawn_at and keeps the row; registering again adds a
-- new row. A citizen whose latest consent is withdrawn does not log in.
CREATE TABLE consents (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fiscal_code       TEXT NOT NULL,
    version           TEXT NOT NULL,
    channel           TEXT NOT NULL,
    given_at          TIMESTAMPTZ NOT NULL,
    withdrawn_at      TIMESTAMPTZ,
    withdrawn_channel TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consents_fiscal_code ON consents (fiscal_code, id);
