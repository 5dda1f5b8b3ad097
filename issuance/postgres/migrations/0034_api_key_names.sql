-- API keys have a name (issue 12): what the key is for, shown in listings,
-- 1 to 64 printable characters (issuance.KeyRequest). Keys made before
-- are named after their prefix. Written to apply over a database where a
-- development build of this change already added the column.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS name text;
UPDATE api_keys SET name = prefix WHERE name IS NULL;
ALTER TABLE api_keys ALTER COLUMN name SET NOT NULL;
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_name_length;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 64);
