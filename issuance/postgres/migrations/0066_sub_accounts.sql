-- 0066: sub-accounts (issue 15, point 5; docs/api.md "Sub-accounts"). A
-- tenant may own sub-tenants: tenants in their own right (cards, products,
-- keys, balances, events), linked to their parent. One level deep: a
-- sub-tenant owns none. The link is set when the sub-tenant is created and
-- never changes, so checking the parent at insert keeps the tree one level
-- deep for good.
ALTER TABLE tenants ADD COLUMN parent_id text REFERENCES tenants(id);
ALTER TABLE tenants ADD CONSTRAINT tenants_parent_not_self CHECK (parent_id <> id);
CREATE INDEX tenants_parent ON tenants (parent_id, id) WHERE parent_id IS NOT NULL;

CREATE FUNCTION ch_tenant_parent_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
        RAISE EXCEPTION 'the parent of tenant % is fixed when it is created', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.parent_id IS NOT NULL AND EXISTS (SELECT 1 FROM tenants WHERE id = NEW.parent_id AND parent_id IS NOT NULL) THEN
        RAISE EXCEPTION 'sub-accounts are one level deep: tenant % is itself a sub-account', NEW.parent_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER tenants_parent BEFORE INSERT OR UPDATE OF parent_id ON tenants
    FOR EACH ROW EXECUTE FUNCTION ch_tenant_parent_check();
