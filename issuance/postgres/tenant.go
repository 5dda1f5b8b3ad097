package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

var _ issuance.TenantStore = (*DB)(nil)

// CreateTenant implements issuance.TenantStore.
func (db *DB) CreateTenant(ctx context.Context, t issuance.Tenant, key issuance.APIKey, events []kafka.Event) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertTenant(ctx, tx, t); err != nil {
			return err
		}
		if err := insertAPIKey(ctx, tx, key); err != nil {
			return err
		}
		return insertEvents(ctx, tx, events)
	})
}

// insertTenant stores t, with its parent when it is a sub-account: a
// missing parent is issuance.ErrNotFound (the foreign key).
func insertTenant(ctx context.Context, tx pgx.Tx, t issuance.Tenant) error {
	_, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, sandbox, created_at, parent_id) VALUES ($1, $2, $3, $4, nullif($5, ''))`,
		t.ID, t.Name, t.Sandbox, t.CreatedAt, t.ParentID)
	if pgCode(err) == "23503" {
		return issuance.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("inserting tenant: %w", err)
	}
	return nil
}

const tenantColumns = `t.id, t.name, t.sandbox, t.created_at, coalesce(t.signing_key_pem, ''), coalesce(t.signing_key_id, ''), coalesce(t.rate_limit_rps, 0),
	coalesce(t.parent_id, ''), t.idempotency_policy, t.default_currency`

func scanTenant(row pgx.Row, extra ...any) (issuance.Tenant, error) {
	var t issuance.Tenant
	dest := append([]any{&t.ID, &t.Name, &t.Sandbox, &t.CreatedAt, &t.SigningKeyPEM, &t.SigningKeyID, &t.RateLimit, &t.ParentID,
		&t.IdempotencyPolicy, &t.DefaultCurrency}, extra...)
	err := row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, issuance.ErrNotFound
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return t, err
}

// Tenants implements issuance.TenantStore.
func (db *DB) Tenants(ctx context.Context) ([]issuance.Tenant, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants t ORDER BY t.created_at, t.id`)
	if err != nil {
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	defer rows.Close()
	var out []issuance.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("listing tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Tenant implements issuance.TenantStore.
func (db *DB) Tenant(ctx context.Context, id string) (issuance.Tenant, error) {
	return scanTenant(db.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants t WHERE t.id = $1`, id))
}

// Authenticate implements issuance.TenantStore.
func (db *DB) Authenticate(ctx context.Context, hash []byte) (issuance.Tenant, issuance.APIKey, error) {
	var k issuance.APIKey
	t, err := scanTenant(db.pool.QueryRow(ctx, `SELECT `+tenantColumns+`, k.id, k.name, k.prefix, k.scopes, k.created_at
		FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
		WHERE k.hash = $1 AND k.revoked_at IS NULL`, hash), &k.ID, &k.Name, &k.Prefix, &k.Scopes, &k.CreatedAt)
	if err != nil {
		if errors.Is(err, issuance.ErrNotFound) {
			return t, k, err
		}
		return t, k, fmt.Errorf("authenticating API key: %w", err)
	}
	k.TenantID, k.Hash = t.ID, hash
	return t, k, nil
}

func insertAPIKey(ctx context.Context, tx pgx.Tx, k issuance.APIKey) error {
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.TenantID, k.Name, k.Prefix, k.Hash, scopes, k.CreatedAt)
	if err != nil {
		return fmt.Errorf("inserting API key: %w", err)
	}
	return nil
}

// CreateAPIKey implements issuance.TenantStore.
func (db *DB) CreateAPIKey(ctx context.Context, k issuance.APIKey) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, k.TenantID).Scan(&ok); err != nil {
			return fmt.Errorf("creating API key: %w", err)
		}
		if !ok {
			return issuance.ErrNotFound
		}
		return insertAPIKey(ctx, tx, k)
	})
}

// APIKeys implements issuance.TenantStore.
func (db *DB) APIKeys(ctx context.Context, tenantID string) ([]issuance.APIKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, tenant_id, name, prefix, scopes, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("listing API keys: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (issuance.APIKey, error) {
		var k issuance.APIKey
		err := r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Scopes, &k.CreatedAt, &k.RevokedAt)
		return k, err
	})
}

// RevokeAPIKey implements issuance.TenantStore.
func (db *DB) RevokeAPIKey(ctx context.Context, tenantID, keyID string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL`, tenantID, keyID, at)
	if err != nil {
		return fmt.Errorf("revoking API key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return issuance.ErrNotFound
	}
	return nil
}

// SetTenantSettings implements issuance.TenantStore.
func (db *DB) SetTenantSettings(ctx context.Context, tenantID string, set issuance.TenantSettings) (issuance.Tenant, error) {
	t, err := scanTenant(db.pool.QueryRow(ctx, `UPDATE tenants t SET idempotency_policy = $2, default_currency = $3
		WHERE t.id = $1 RETURNING `+tenantColumns, tenantID, set.IdempotencyPolicy, set.DefaultCurrency))
	if err != nil && !errors.Is(err, issuance.ErrNotFound) {
		return t, fmt.Errorf("setting tenant settings: %w", err)
	}
	return t, err
}

// SetSigningKey implements issuance.TenantStore.
func (db *DB) SetSigningKey(ctx context.Context, tenantID, pem, keyID, alg string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE tenants SET signing_key_pem = nullif($2, ''), signing_key_id = nullif($3, ''), signing_key_alg = nullif($4, '') WHERE id = $1`,
		tenantID, pem, keyID, alg)
	if err != nil {
		return fmt.Errorf("setting signing key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return issuance.ErrNotFound
	}
	return nil
}
