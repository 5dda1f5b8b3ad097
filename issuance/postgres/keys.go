package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/emv"
)

// KeyStore is the PostgreSQL key store of the software HSM (it implements
// softhsm.KeyStore without importing it). It only ever sees wrapped keys.
type KeyStore struct{ db *DB }

// KeyStore returns the HSM's key store.
func (db *DB) KeyStore() *KeyStore { return &KeyStore{db: db} }

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// PutKey stores a new key record; emv.ErrKeyExists when (ref, version) is taken.
func (k *KeyStore) PutKey(ctx context.Context, r emv.KeyRecord) error {
	_, err := k.db.pool.Exec(ctx, `INSERT INTO hsm_keys (ref, version, type, usage, spec, kcv, tenant_id, label, status,
		created_at, activated_at, expires_at, usable_until, master_kcv, wrapped)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.Ref, r.Version, string(r.Type), r.Usage, string(r.Spec), r.KCV, r.Tenant, r.Label, string(r.Status),
		r.Created, r.Activated, nullTime(r.Expires), nullTime(r.UsableUntil), r.MasterKCV, r.Wrapped)
	if isUniqueViolation(err, "") {
		return emv.ErrKeyExists
	}
	if err != nil {
		return fmt.Errorf("storing key: %w", err)
	}
	return nil
}

const keyColumns = `ref, version, type, usage, spec, kcv, tenant_id, label, status, created_at, activated_at, expires_at, usable_until, master_kcv, wrapped`

func scanKey(row pgx.Row) (emv.KeyRecord, error) {
	var r emv.KeyRecord
	var typ, spec, status string
	var expires, usable *time.Time
	err := row.Scan(&r.Ref, &r.Version, &typ, &r.Usage, &spec, &r.KCV, &r.Tenant, &r.Label, &status,
		&r.Created, &r.Activated, &expires, &usable, &r.MasterKCV, &r.Wrapped)
	if err != nil {
		return r, err
	}
	r.Type, r.Spec, r.Status = emv.KeyType(typ), emv.KeySpec(spec), emv.KeyStatus(status)
	r.Created, r.Activated = r.Created.UTC(), r.Activated.UTC()
	if expires != nil {
		r.Expires = expires.UTC()
	}
	if usable != nil {
		r.UsableUntil = usable.UTC()
	}
	return r, nil
}

// GetKey returns one version of a key; emv.ErrKeyNotFound when missing.
// Like ListKeys, it wraps host.ErrUnavailable in errors that mean the
// database is unreachable, so that an authorization whose key is not in
// the HSM's cache during an outage is answered 91 too.
func (k *KeyStore) GetKey(ctx context.Context, ref string, version int) (emv.KeyRecord, error) {
	r, err := scanKey(k.db.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM hsm_keys WHERE ref = $1 AND version = $2`, ref, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, emv.ErrKeyNotFound
	}
	if err != nil {
		return r, WrapUnavailable(fmt.Errorf("reading key: %w", err))
	}
	return r, nil
}

// ListKeys returns the records matching f, by ref then version.
func (k *KeyStore) ListKeys(ctx context.Context, f emv.KeyFilter) ([]emv.KeyRecord, error) {
	var w where
	w.and(eq("ref", f.Ref), eq("type", string(f.Type)), eq("tenant_id", f.Tenant), eq("status", string(f.Status)))
	q := `SELECT ` + keyColumns + ` FROM hsm_keys`
	if len(w.conds) > 0 {
		q += ` WHERE ` + w.sql()
	}
	out, err := listAll(ctx, k.db.pool, "keys", q+` ORDER BY ref, version`, scanKey, w.args...)
	return out, WrapUnavailable(err)
}

// UpdateKeyStatus sets a version's status and usable-until time.
func (k *KeyStore) UpdateKeyStatus(ctx context.Context, ref string, version int, status emv.KeyStatus, usableUntil time.Time) error {
	tag, err := k.db.pool.Exec(ctx, `UPDATE hsm_keys SET status = $3, usable_until = $4 WHERE ref = $1 AND version = $2`,
		ref, version, string(status), nullTime(usableUntil))
	if err != nil {
		return fmt.Errorf("updating key status: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return emv.ErrKeyNotFound
	}
	return nil
}

// MasterKCVs counts the stored key records per master key check value
// (softhsm.MasterKCVCounter): one aggregate, cheap enough for /readyz.
func (k *KeyStore) MasterKCVs(ctx context.Context) (map[string]int, error) {
	rows, err := k.db.pool.Query(ctx, `SELECT master_kcv, count(*) FROM hsm_keys GROUP BY master_kcv`)
	if err != nil {
		return nil, WrapUnavailable(fmt.Errorf("counting keys per master key: %w", err))
	}
	out := map[string]int{}
	var kcv string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&kcv, &n}, func() error { out[kcv] = n; return nil })
	if err != nil {
		return nil, WrapUnavailable(fmt.Errorf("counting keys per master key: %w", err))
	}
	return out, nil
}
