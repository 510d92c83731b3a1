-- cnsgate registry, schema version 2 (SQLite).
-- Operator roles belong to the operator card (card type 8 or 9): any_card = 1
-- grants them whatever card the operator logs in with.
ALTER TABLE operators ADD COLUMN any_card INTEGER NOT NULL DEFAULT 0 CHECK (any_card IN (0, 1));
