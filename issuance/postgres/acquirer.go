package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
)

// Acquirer is an institution that sends ISO 8583 traffic, known by the value
// of its field 32 (acquiring institution identification code), with the
// zone keys its messages use.
type Acquirer struct {
	ID        string // field 32: 1 to 11 digits
	Name      string
	ZPKRef    string // zone PIN key: field 52 PIN blocks arrive under it
	ZAKRef    string // zone MAC key ("" when the acquirer does not MAC)
	CreatedAt time.Time
}

// CreateAcquirer stores an acquirer; issuance.ErrConflict when its id
// exists. The caller checks the id's syntax and the key references.
func (db *DB) CreateAcquirer(ctx context.Context, a Acquirer) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO acquirers (id, name, zpk_ref, zak_ref, created_at) VALUES ($1, $2, $3, $4, $5)`,
		a.ID, a.Name, a.ZPKRef, a.ZAKRef, a.CreatedAt)
	if isUniqueViolation(err, "") {
		return issuance.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("inserting acquirer: %w", err)
	}
	return nil
}

// Acquirers lists the acquirers by id.
func (db *DB) Acquirers(ctx context.Context) ([]Acquirer, error) {
	return listAll(ctx, db.pool, "acquirers", `SELECT id, name, zpk_ref, zak_ref, created_at FROM acquirers ORDER BY id`,
		func(r pgx.Row) (Acquirer, error) {
			var a Acquirer
			err := r.Scan(&a.ID, &a.Name, &a.ZPKRef, &a.ZAKRef, &a.CreatedAt)
			a.CreatedAt = a.CreatedAt.UTC()
			return a, err
		})
}

// AcquirerZPK returns the zone PIN key reference of the acquirer whose
// field 32 is acquirerID; issuance.ErrNotFound when it is unknown. The
// authorization host reads field 52 with it (host/postgres).
func (db *DB) AcquirerZPK(ctx context.Context, acquirerID string) (string, error) {
	return getRow(ctx, db, "acquirer ZPK", `SELECT zpk_ref FROM acquirers WHERE id = $1`, func(r pgx.Row) (ref string, err error) {
		err = r.Scan(&ref)
		return ref, err
	}, acquirerID)
}
