-- API keys have a name (issue 12): what the key is for, shown in listings,
-- 1 to 64 printable characters (issuance.KeyRequest). Keys made before
-- are named after their prefix.
ALTER TABLE api_keys ADD COLUMN name text;
UPDATE api_keys SET name = prefix;
ALTER TABLE api_keys ALTER COLUMN name SET NOT NULL;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 64);
