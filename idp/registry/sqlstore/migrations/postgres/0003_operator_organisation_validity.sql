-- cnsgate registry, schema version 3 (PostgreSQL).
-- An operator belongs to a named organisation (organisation holds its code,
-- e.g. the ASL's, organisation_name its name) and may be valid only between
-- two dates (NULL: no bound).
ALTER TABLE operators ADD COLUMN organisation_name TEXT NOT NULL DEFAULT '';
ALTER TABLE operators ADD COLUMN valid_from TIMESTAMPTZ;
ALTER TABLE operators ADD COLUMN valid_until TIMESTAMPTZ;
