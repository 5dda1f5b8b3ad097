-- 0039: BIN ranges (issue 12). A range is an IIN prefix of 6 to 8 digits
-- assigned to one tenant by the operator (`cardhost tenants add-bin`);
-- every card number starting with it is that tenant's. Ranges never
-- overlap: span is the range of 19-digit numbers the prefix starts, and the
-- exclusion constraint keeps spans disjoint platform-wide (a prefix that
-- starts another overlaps it). Templates' IINs and imported PANs must lie
-- in the tenant's own ranges (docs/api.md, BIN ranges).
CREATE TABLE bin_ranges (
    prefix      text PRIMARY KEY CHECK (prefix ~ '^[0-9]{6,8}$'),
    tenant_id   text NOT NULL REFERENCES tenants(id),
    span        numrange NOT NULL GENERATED ALWAYS AS
                  (numrange(rpad(prefix, 19, '0')::numeric, rpad(prefix, 19, '9')::numeric, '[]')) STORED,
    created_at  timestamptz NOT NULL,
    CONSTRAINT bin_ranges_disjoint EXCLUDE USING gist (span WITH &&)
);
CREATE INDEX bin_ranges_tenant ON bin_ranges (tenant_id, prefix);

-- An assignment is refused while another tenant has cards in the range:
-- cards are found by their 6-digit BIN.
CREATE INDEX cards_bin ON cards (bin, tenant_id);

-- Existing deployments: every tenant keeps the IINs of its data prep
-- templates and the BINs of the cards it imported, where no other tenant
-- has a template or imported card that overlaps them (a BIN two tenants
-- used stays unassigned: the operator decides). Of one tenant's prefixes
-- only those no shorter one of its own starts are stored.
WITH candidate AS (
    SELECT DISTINCT tenant_id, iin AS prefix FROM data_prep_templates WHERE iin ~ '^[0-9]{6,8}$'
    UNION
    SELECT DISTINCT tenant_id, bin FROM cards WHERE imported AND bin ~ '^[0-9]{6,8}$'
), unshared AS (
    SELECT c.tenant_id, c.prefix FROM candidate c
    WHERE NOT EXISTS (SELECT 1 FROM candidate o WHERE o.tenant_id <> c.tenant_id
                      AND (starts_with(o.prefix, c.prefix) OR starts_with(c.prefix, o.prefix)))
)
INSERT INTO bin_ranges (prefix, tenant_id, created_at)
SELECT u.prefix, u.tenant_id, now() FROM unshared u
WHERE NOT EXISTS (SELECT 1 FROM unshared s WHERE s.tenant_id = u.tenant_id AND s.prefix <> u.prefix AND starts_with(u.prefix, s.prefix));
