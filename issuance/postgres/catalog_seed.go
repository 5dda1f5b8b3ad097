package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
)

// CatalogSeed is the catalog sandbox mode gives a tenant.
type CatalogSeed struct {
	TenantID  string
	BINRanges []bins.Range // the tenant's own ranges, holding the templates' IINs
	Templates []issuance.Template
	Embossers []issuance.Embosser
	Layouts   []issuance.Layout
	Products  []issuance.Product
	At        time.Time
}

// SeedCatalog stores a sandbox tenant's catalog and marks the tenant
// seeded, in one transaction: either everything is there or nothing.
// issuance.ErrConflict when the tenant was seeded already; a
// *bins.Conflict when one of its BIN ranges overlaps another range or
// another tenant's templates or cards (the same checks as AssignBINRange),
// so that the seeder can try other ranges.
func (db *DB) SeedCatalog(ctx context.Context, s CatalogSeed) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO sandbox_seeds (tenant_id, seeded_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, s.TenantID, s.At)
		if err != nil {
			return fmt.Errorf("marking sandbox seed: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return issuance.ErrConflict
		}
		for _, insert := range []func() error{
			func() error {
				for _, r := range s.BINRanges {
					if err := assignBINRange(ctx, tx, r); err != nil {
						return err
					}
				}
				return nil
			},
			func() error { return templates.insertAll(ctx, tx, s.Templates) },
			func() error { return embossers.insertAll(ctx, tx, s.Embossers) },
			func() error { return layouts.insertAll(ctx, tx, s.Layouts) },
			func() error { return products.insertAll(ctx, tx, s.Products) },
		} {
			if err := insert(); err != nil {
				return err
			}
		}
		return nil
	})
}

// SandboxSeeded reports whether a tenant's sandbox catalog was seeded.
func (db *DB) SandboxSeeded(ctx context.Context, tenantID string) (bool, error) {
	var ok bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sandbox_seeds WHERE tenant_id = $1)`, tenantID).Scan(&ok); err != nil {
		return false, fmt.Errorf("reading sandbox seed: %w", err)
	}
	return ok, nil
}
