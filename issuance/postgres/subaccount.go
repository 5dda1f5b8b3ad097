package postgres

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// Sub-accounts (migration 0066): tenants with a parent_id. The methods
// below implement subaccount.Store; every query names the parent, so a
// parent reaches only its own sub-accounts.

// CreateSubTenant stores t (t.ParentID set) and its events, atomically.
// issuance.ErrNotFound when the parent does not exist.
func (db *DB) CreateSubTenant(ctx context.Context, t issuance.Tenant, events []kafka.Event) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertTenant(ctx, tx, t); err != nil {
			return err
		}
		return insertEvents(ctx, tx, events)
	})
}

// SubTenants lists a parent's sub-accounts, newest first, one page.
func (db *DB) SubTenants(ctx context.Context, parentID string, p issuance.PageRequest) ([]issuance.Tenant, bool, error) {
	size := p.Size()
	return ListPage(ctx, db, "sub-accounts", `SELECT `+tenantColumns+` FROM tenants t
		WHERE t.parent_id = $1 AND ($2 = '' OR t.id < $2) ORDER BY t.id DESC LIMIT `+strconv.Itoa(size+1),
		size, func(r pgx.Row) (issuance.Tenant, error) { return scanTenant(r) }, parentID, p.StartingAfter)
}

// SubTenant returns the parent's sub-account id; issuance.ErrNotFound
// when the parent has none with that id (missing, top-level, or another
// tenant's).
func (db *DB) SubTenant(ctx context.Context, parentID, id string) (issuance.Tenant, error) {
	return getRow(ctx, db, "sub-account", `SELECT `+tenantColumns+` FROM tenants t WHERE t.parent_id = $1 AND t.id = $2`,
		func(r pgx.Row) (issuance.Tenant, error) { return scanTenant(r) }, parentID, id)
}
