package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/issuance"
)

// Acquirer is an institution that sends ISO 8583 traffic, known by the value
// of its field 32 (acquiring institution identification code), with the
// zone keys its messages use and its security settings (migration 0037).
type Acquirer struct {
	ID     string // field 32: 1 to 11 digits
	Name   string
	ZPKRef string // zone PIN key: field 52 PIN blocks arrive under it
	ZAKRef string // zone MAC key ("" when the acquirer does not MAC)
	// MACRequired: every message must carry a MAC; only with a ZAKRef.
	MACRequired bool
	// PINFormats are the PIN block formats field 52 may be in (0, 1, 3);
	// nil when creating means the default, 0 and 3.
	PINFormats []pinblock.Format
	CreatedAt  time.Time
}

// acquirerColumns are the acquirers columns an Acquirer is read from.
const acquirerColumns = `id, name, zpk_ref, zak_ref, mac_required, pin_formats, created_at`

func scanAcquirer(r pgx.Row) (Acquirer, error) {
	var a Acquirer
	var formats []int16
	err := r.Scan(&a.ID, &a.Name, &a.ZPKRef, &a.ZAKRef, &a.MACRequired, &formats, &a.CreatedAt)
	for _, f := range formats {
		a.PINFormats = append(a.PINFormats, pinblock.Format(f))
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a, err
}

// pinFormatsValue is the pin_formats column's value for formats (nil for
// none: the column's default).
func pinFormatsValue(formats []pinblock.Format) []int16 {
	if len(formats) == 0 {
		return nil
	}
	out := make([]int16, len(formats))
	for i, f := range formats {
		out[i] = int16(f)
	}
	return out
}

// CreateAcquirer stores an acquirer; issuance.ErrConflict when its id
// exists. The caller checks the id's syntax, the key references and the
// settings.
func (db *DB) CreateAcquirer(ctx context.Context, a Acquirer) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO acquirers (id, name, zpk_ref, zak_ref, mac_required, pin_formats, created_at)
		VALUES ($1, $2, $3, $4, $5, coalesce($6, '{0,3}'::smallint[]), $7)`,
		a.ID, a.Name, a.ZPKRef, a.ZAKRef, a.MACRequired, pinFormatsValue(a.PINFormats), a.CreatedAt)
	if isUniqueViolation(err, "") {
		return issuance.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("inserting acquirer: %w", err)
	}
	return nil
}

// UpdateAcquirer replaces the name, keys and settings of the acquirer
// a.ID (not its creation time); issuance.ErrNotFound when it is unknown.
// The caller checks the key references and the settings.
func (db *DB) UpdateAcquirer(ctx context.Context, a Acquirer) error {
	tag, err := db.pool.Exec(ctx, `UPDATE acquirers SET name = $2, zpk_ref = $3, zak_ref = $4, mac_required = $5,
		pin_formats = coalesce($6, '{0,3}'::smallint[]) WHERE id = $1`,
		a.ID, a.Name, a.ZPKRef, a.ZAKRef, a.MACRequired, pinFormatsValue(a.PINFormats))
	if err != nil {
		return fmt.Errorf("updating acquirer: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return issuance.ErrNotFound
	}
	return nil
}

// Acquirers lists the acquirers by id. The authorization host reads them
// all (host/postgres) and keeps them in memory.
func (db *DB) Acquirers(ctx context.Context) ([]Acquirer, error) {
	return listAll(ctx, db.pool, "acquirers", `SELECT `+acquirerColumns+` FROM acquirers ORDER BY id`, scanAcquirer)
}

// Acquirer returns the acquirer whose field 32 is id; issuance.ErrNotFound
// when it is unknown.
func (db *DB) Acquirer(ctx context.Context, id string) (Acquirer, error) {
	return getRow(ctx, db, "acquirer", `SELECT `+acquirerColumns+` FROM acquirers WHERE id = $1`, scanAcquirer, id)
}

// AcquirerZPK returns the zone PIN key reference of the acquirer whose
// field 32 is acquirerID; issuance.ErrNotFound when it is unknown.
func (db *DB) AcquirerZPK(ctx context.Context, acquirerID string) (string, error) {
	a, err := db.Acquirer(ctx, acquirerID)
	return a.ZPKRef, err
}
