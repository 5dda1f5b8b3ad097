package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// Operator console sessions (table console_sessions, migration 0052). The
// console (package issuance/console) declares the interface; these methods
// take only the hash of a session id, never the id itself.

// CreateConsoleSession stores a new session of the API key keyID and
// deletes the sessions idle since before purgeBefore (at most 1,000 a
// call, so that signing in stays cheap).
func (db *DB) CreateConsoleSession(ctx context.Context, idHash []byte, tenantID, keyID, csrf string, now, purgeBefore time.Time) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash IN
		(SELECT id_hash FROM console_sessions WHERE last_seen_at < $1 LIMIT 1000)`, purgeBefore); err != nil {
		return fmt.Errorf("purging console sessions: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO console_sessions (id_hash, tenant_id, api_key_id, csrf_token, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, idHash, tenantID, keyID, csrf, now); err != nil {
		return fmt.Errorf("storing console session: %w", err)
	}
	return nil
}

// ConsoleSession returns the tenant, API key and CSRF token of the live
// session idHash and marks it used at now. A session is live when it was
// used since idleSince, created since createdSince, and its key is not
// revoked; otherwise issuance.ErrNotFound.
func (db *DB) ConsoleSession(ctx context.Context, idHash []byte, now, idleSince, createdSince time.Time) (issuance.Tenant, issuance.APIKey, string, error) {
	var k issuance.APIKey
	var csrf string
	t, err := scanTenant(db.pool.QueryRow(ctx, `UPDATE console_sessions s SET last_seen_at = $2
		FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
		WHERE s.id_hash = $1 AND s.last_seen_at >= $3 AND s.created_at >= $4
		  AND k.id = s.api_key_id AND k.tenant_id = s.tenant_id AND k.revoked_at IS NULL
		RETURNING `+tenantColumns+`, k.id, k.name, k.prefix, k.scopes, k.created_at, s.csrf_token`,
		idHash, now, idleSince, createdSince), &k.ID, &k.Name, &k.Prefix, &k.Scopes, &k.CreatedAt, &csrf)
	if err != nil {
		if err == issuance.ErrNotFound {
			return t, k, "", err
		}
		return t, k, "", fmt.Errorf("reading console session: %w", err)
	}
	k.TenantID = t.ID
	return t, k, csrf, nil
}

// DeleteConsoleSession ends the session idHash (logout); ending one that
// does not exist is not an error.
func (db *DB) DeleteConsoleSession(ctx context.Context, idHash []byte) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("deleting console session: %w", err)
	}
	return nil
}
