package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance/bins"
)

// BIN ranges (migration 0039): disjoint IIN prefixes, each of one tenant.

var _ bins.Store = (*DB)(nil)

// overlapQueries find what overlaps a prefix ($1): any range (the
// tenant's own too), and templates and cards of tenants other than $2. The
// first row found is the conflict. Cards are found by their 6-digit BIN,
// so a 7 or 8 digit range conflicts with every card of another tenant in
// its BIN.
var overlapQueries = []struct{ what, sql string }{
	{"BIN range", `SELECT prefix, tenant_id FROM bin_ranges WHERE (starts_with(prefix, $1) OR starts_with($1, prefix)) AND $2::text IS NOT NULL LIMIT 1`},
	{"data prep template", `SELECT iin, tenant_id FROM data_prep_templates
		WHERE tenant_id <> $2 AND (starts_with(iin, $1) OR starts_with($1, iin)) LIMIT 1`},
	{"cards in BIN", `SELECT bin, tenant_id FROM cards WHERE bin = left($1, 6) AND tenant_id <> $2 LIMIT 1`},
}

// AssignBINRange implements bins.Store.
func (db *DB) AssignBINRange(ctx context.Context, r bins.Range) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error { return assignBINRange(ctx, tx, r) })
	var c *bins.Conflict
	if errors.As(err, &c) && c.TenantID == "" {
		// Assigned concurrently: name the range now that it is visible.
		_ = db.pool.QueryRow(ctx, overlapQueries[0].sql, r.Prefix, r.TenantID).Scan(&c.Prefix, &c.TenantID)
	}
	return err
}

// assignBINRange stores r in tx unless its tenant is missing
// (bins.ErrTenantNotFound) or it overlaps what overlapQueries find
// (*bins.Conflict; one with no TenantID when a range was assigned
// concurrently and the constraint caught it).
func assignBINRange(ctx context.Context, tx pgx.Tx, r bins.Range) error {
	// Assignments are rare (operator, sandbox seeding) and run one at a
	// time: two overlapping inserts would otherwise wait on each other in
	// the exclusion constraint and deadlock. The constraint stays the
	// guarantee.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockKey("bin_ranges")+`)`); err != nil {
		return fmt.Errorf("taking the BIN range lock: %w", err)
	}
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, r.TenantID).Scan(&ok); err != nil {
		return fmt.Errorf("reading tenant: %w", err)
	}
	if !ok {
		return bins.ErrTenantNotFound
	}
	for _, q := range overlapQueries {
		c := bins.Conflict{What: q.what}
		err := tx.QueryRow(ctx, q.sql, r.Prefix, r.TenantID).Scan(&c.Prefix, &c.TenantID)
		if err == nil {
			return &c
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("checking BIN range overlaps: %w", err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO bin_ranges (prefix, tenant_id, created_at) VALUES ($1, $2, $3)`, r.Prefix, r.TenantID, r.CreatedAt)
	switch code := pgCode(err); {
	case code == "23P01" || code == "23505":
		return &bins.Conflict{What: "BIN range", Prefix: r.Prefix}
	case err != nil:
		return fmt.Errorf("assigning BIN range: %w", err)
	}
	return nil
}

// RemoveBINRange implements bins.Store.
func (db *DB) RemoveBINRange(ctx context.Context, tenantID, prefix string) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var inUse bool
		// The tenant's sub-accounts issue in its ranges too (migration 0066).
		err := tx.QueryRow(ctx, `WITH family AS (SELECT $1::text AS id UNION SELECT id FROM tenants WHERE parent_id = $1)
			SELECT EXISTS (SELECT 1 FROM data_prep_templates WHERE tenant_id IN (SELECT id FROM family) AND starts_with(iin, $2))
			OR EXISTS (SELECT 1 FROM cards WHERE bin = left($2, 6) AND tenant_id IN (SELECT id FROM family))
			FROM bin_ranges WHERE tenant_id = $1 AND prefix = $2 FOR UPDATE`, tenantID, prefix).Scan(&inUse)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return bins.ErrNotFound
		case err != nil:
			return fmt.Errorf("reading BIN range: %w", err)
		case inUse:
			return bins.ErrInUse
		}
		if _, err := tx.Exec(ctx, `DELETE FROM bin_ranges WHERE tenant_id = $1 AND prefix = $2`, tenantID, prefix); err != nil {
			return fmt.Errorf("removing BIN range: %w", err)
		}
		return nil
	})
}

// BINRanges implements bins.Store.
func (db *DB) BINRanges(ctx context.Context, tenantID string) ([]bins.Range, error) {
	rows, err := db.pool.Query(ctx, `SELECT prefix, tenant_id, created_at, $1 <> '' AND tenant_id <> $1 FROM bin_ranges
		WHERE $1 = '' OR tenant_id = $1 OR tenant_id = (SELECT parent_id FROM tenants WHERE id = $1) ORDER BY prefix`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("listing BIN ranges: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bins.Range, error) {
		var r bins.Range
		err := row.Scan(&r.Prefix, &r.TenantID, &r.CreatedAt, &r.Inherited)
		r.CreatedAt = r.CreatedAt.UTC()
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing BIN ranges: %w", err)
	}
	return out, nil
}
