package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
)

// Tenant-scoped reads of the host's records for the REST API. Another
// tenant's id answers issuance.ErrNotFound, like a missing one.

// CardAuthorizations lists a card's records, newest first, one page.
func (l *Ledger) CardAuthorizations(ctx context.Context, tenantID, cardID string, p issuance.PageRequest) ([]*host.Authorization, bool, error) {
	if _, err := l.TenantCard(ctx, tenantID, cardID); err != nil {
		return nil, false, err
	}
	return issuancepg.ListPage(ctx, l.db, "authorizations", `SELECT `+authColumns+` FROM authorizations
		WHERE tenant_id = $1 AND card_id = $2 AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4`,
		p.Size(), scanAuthorization, tenantID, cardID, p.StartingAfter, p.Size()+1)
}

// TenantAuthorization returns one record of the tenant.
func (l *Ledger) TenantAuthorization(ctx context.Context, tenantID, id string) (*host.Authorization, error) {
	a, err := scanAuthorization(l.pool.QueryRow(ctx, `SELECT `+authColumns+` FROM authorizations WHERE id = $1 AND tenant_id = $2`, id, tenantID))
	if errors.Is(err, host.ErrNotFound) {
		return nil, issuance.ErrNotFound
	}
	return a, err
}

// TenantCard returns the host's snapshot of a tenant's card (its spend).
func (l *Ledger) TenantCard(ctx context.Context, tenantID, cardID string) (*host.Card, error) {
	c, err := l.card(ctx, l.pool, `id = $1 AND tenant_id = $2`, cardID, tenantID)
	if errors.Is(err, host.ErrNotFound) {
		return nil, issuance.ErrNotFound
	}
	return c, err
}

// SealedPAN returns a tenant's card's sealed PAN (for the sandbox
// simulator, which opens it through the HSM to build ISO messages).
func (l *Ledger) SealedPAN(ctx context.Context, tenantID, cardID string) ([]byte, error) {
	var b []byte
	err := l.pool.QueryRow(ctx, `SELECT pan_cipher FROM cards WHERE id = $1 AND tenant_id = $2`, cardID, tenantID).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, issuance.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading card: %w", err)
	}
	return b, nil
}
