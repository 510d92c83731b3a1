-- cnsgate registry, schema version 4 (PostgreSQL).
-- A citizen's agreement to release data to a relying party: the list of
-- fields shown ("Il servizio riceverà…"), as the SHA-256 of the sorted
-- field names; a different list asks again.
CREATE TABLE releases (
    fiscal_code TEXT NOT NULL,
    client      TEXT NOT NULL, -- OIDC client id or SAML SP entity id
    fields_hash TEXT NOT NULL, -- lower-case hex
    agreed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (fiscal_code, client)
);
