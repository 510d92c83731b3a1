-- cnsgate registry, schema version 2 (PostgreSQL).
-- Operator roles belong to the operator card (card type 8 or 9): any_card
-- grants them whatever card the operator logs in with.
ALTER TABLE operators ADD COLUMN any_card BOOLEAN NOT NULL DEFAULT FALSE;
