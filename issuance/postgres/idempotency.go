package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
)

var _ issuance.IdempotencyStore = (*DB)(nil)

// Claim implements issuance.IdempotencyStore. One statement inserts the key,
// or takes over an expired key or an abandoned in-flight claim for the same
// request; the primary key makes concurrent claims race safely.
func (db *DB) Claim(ctx context.Context, c issuance.IdempotencyClaim) (issuance.IdempotencyOutcome, issuance.StoredResponse, error) {
	var none issuance.StoredResponse
	now := c.Now.UTC()
	lockUntil := now.Add(c.LockFor)
	var claimed bool
	err := db.pool.QueryRow(ctx, `
		INSERT INTO idempotency_keys (tenant_id, key, method, path, request_hash, state, created_at, locked_until, expires_at)
		VALUES ($1, $2, $3, $4, $5, 'in_flight', $6, $7, $8)
		ON CONFLICT (tenant_id, key) DO UPDATE
		   SET method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
		       state = 'in_flight', response_status = NULL, response_type = NULL, response_body = NULL,
		       created_at = excluded.created_at, locked_until = excluded.locked_until, expires_at = excluded.expires_at
		 WHERE idempotency_keys.expires_at <= $6
		    OR (idempotency_keys.state = 'in_flight' AND idempotency_keys.locked_until <= $6
		        AND idempotency_keys.request_hash = excluded.request_hash
		        AND idempotency_keys.method = excluded.method AND idempotency_keys.path = excluded.path)
		RETURNING true`,
		c.TenantID, c.Key, c.Method, c.Path, c.RequestHash, now, lockUntil, now.Add(issuance.IdempotencyTTL)).Scan(&claimed)
	if err == nil && claimed {
		return issuance.IdempotencyProceed, none, nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, none, fmt.Errorf("claiming idempotency key: %w", err)
	}
	var (
		method, path, state string
		hash                []byte
		resp                issuance.StoredResponse
		status              *int
		ctype               *string
	)
	err = db.pool.QueryRow(ctx, `SELECT method, path, request_hash, state, response_status, response_type, response_body
		FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`, c.TenantID, c.Key).
		Scan(&method, &path, &hash, &state, &status, &ctype, &resp.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		// Released between our insert and this read: try once more.
		return db.Claim(ctx, c)
	}
	if err != nil {
		return 0, none, fmt.Errorf("reading idempotency key: %w", err)
	}
	if method != c.Method || path != c.Path || !bytes.Equal(hash, c.RequestHash) {
		return issuance.IdempotencyMismatch, none, nil
	}
	if state != "done" {
		return issuance.IdempotencyInProgress, none, nil
	}
	if status != nil {
		resp.Status = *status
	}
	if ctype != nil {
		resp.ContentType = *ctype
	}
	return issuance.IdempotencyReplay, resp, nil
}

// Complete implements issuance.IdempotencyStore.
func (db *DB) Complete(ctx context.Context, tenantID, key string, resp issuance.StoredResponse) error {
	_, err := db.pool.Exec(ctx, `UPDATE idempotency_keys SET state = 'done', response_status = $3, response_type = $4, response_body = $5
		WHERE tenant_id = $1 AND key = $2`, tenantID, key, resp.Status, resp.ContentType, resp.Body)
	if err != nil {
		return fmt.Errorf("completing idempotency key: %w", err)
	}
	return nil
}

// Release implements issuance.IdempotencyStore.
func (db *DB) Release(ctx context.Context, tenantID, key string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND state = 'in_flight'`, tenantID, key)
	if err != nil {
		return fmt.Errorf("releasing idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotency implements issuance.IdempotencyStore.
func (db *DB) PurgeIdempotency(ctx context.Context, now time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("purging idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}
