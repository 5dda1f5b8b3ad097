package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardhost/cardhost/issuance"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/webhook"
)

// Store is the webhook store over one cardhost database.
type Store struct {
	db   *issuancepg.DB
	pool *pgxpool.Pool
}

var _ webhook.Store = (*Store)(nil)

// New returns the webhook store over db.
func New(db *issuancepg.DB) *Store { return &Store{db: db, pool: db.Pool()} }

// inTx runs fn in a transaction and wakes the outbox relay after a commit.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, s.pool, fn); err != nil {
		return err
	}
	s.db.Committed()
	return nil
}

const endpointColumns = `id, tenant_id, url, description, event_types, disabled, coalesce(disabled_reason, ''), disabled_at,
	failing_since, seal_key_ref, secret_sealed, previous_secret_sealed, previous_secret_until, created_at, updated_at`

func scanEndpoint(row pgx.Row) (webhook.Endpoint, error) {
	var e webhook.Endpoint
	err := row.Scan(&e.ID, &e.TenantID, &e.URL, &e.Description, &e.EventTypes, &e.Disabled, &e.DisabledReason, &e.DisabledAt,
		&e.FailingSince, &e.SealKeyRef, &e.Sealed, &e.SealedPrevious, &e.PreviousSecretExpiresAt, &e.CreatedAt, &e.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, issuance.ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("reading webhook endpoint: %w", err)
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	for _, t := range []**time.Time{&e.DisabledAt, &e.FailingSince, &e.PreviousSecretExpiresAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return e, nil
}

// CreateEndpoint implements webhook.Store. The tenant's endpoints are
// counted under a lock of its row, so concurrent creations keep the limit.
func (s *Store) CreateEndpoint(ctx context.Context, e webhook.Endpoint) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM webhook_endpoints WHERE tenant_id = t.id)
			FROM tenants t WHERE t.id = $1 FOR UPDATE`, e.TenantID).Scan(&n); err != nil {
			return fmt.Errorf("counting webhook endpoints: %w", err)
		}
		if n >= webhook.MaxEndpoints {
			return issuance.Errorf(webhook.SlugEndpointLimit, "a tenant has at most %d webhook endpoints: delete one first", webhook.MaxEndpoints)
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, seal_key_ref, secret_sealed, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, e.ID, e.TenantID, e.URL, e.Description, e.EventTypes, e.SealKeyRef, e.Sealed, e.CreatedAt)
		if err != nil {
			return fmt.Errorf("creating webhook endpoint: %w", err)
		}
		return nil
	})
}

// Endpoint implements webhook.Store.
func (s *Store) Endpoint(ctx context.Context, tenantID, id string) (webhook.Endpoint, error) {
	return scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// Endpoints implements webhook.Store.
func (s *Store) Endpoints(ctx context.Context, tenantID string, p issuance.PageRequest) ([]webhook.Endpoint, bool, error) {
	n := p.Size()
	rows, err := s.pool.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE tenant_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`, tenantID, p.StartingAfter, n+1)
	if err != nil {
		return nil, false, fmt.Errorf("listing webhook endpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, false, err
	}
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}

// failPending fails the endpoint's pending deliveries (it was disabled).
const failPending = `UPDATE webhook_deliveries SET status = 'failed', updated_at = $2 WHERE endpoint_id = $1 AND status = 'pending'`

// UpdateEndpoint implements webhook.Store.
func (s *Store) UpdateEndpoint(ctx context.Context, tenantID, id string, ch webhook.Change) (webhook.Endpoint, error) {
	var e webhook.Endpoint
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		e, err = scanEndpoint(tx.QueryRow(ctx, `UPDATE webhook_endpoints SET
				url = coalesce($3, url), event_types = coalesce($4, event_types), description = coalesce($5, description),
				disabled = coalesce($6, disabled),
				disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason WHEN $6 AND disabled THEN disabled_reason WHEN $6 THEN $7 END,
				disabled_at = CASE WHEN $6 IS NULL THEN disabled_at WHEN $6 AND disabled THEN disabled_at WHEN $6 THEN $8 END,
				failing_since = CASE WHEN $6 = false THEN NULL ELSE failing_since END,
				updated_at = $8
			WHERE tenant_id = $1 AND id = $2 RETURNING `+endpointColumns,
			tenantID, id, ch.URL, ch.EventTypes, ch.Description, ch.Disabled, ch.Reason, ch.Now))
		if err != nil || !e.Disabled {
			return err
		}
		if _, err := tx.Exec(ctx, failPending, id, ch.Now); err != nil {
			return fmt.Errorf("failing the deliveries of a disabled webhook endpoint: %w", err)
		}
		return nil
	})
	return e, err
}

// RotateSecret implements webhook.Store.
func (s *Store) RotateSecret(ctx context.Context, tenantID, id string, sealed []byte, previousUntil, now time.Time) (webhook.Endpoint, error) {
	return scanEndpoint(s.pool.QueryRow(ctx, `UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed,
			previous_secret_until = $4, secret_sealed = $3, updated_at = $5
		WHERE tenant_id = $1 AND id = $2 RETURNING `+endpointColumns, tenantID, id, sealed, previousUntil, now))
}

// DeleteEndpoint implements webhook.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, tenantID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return fmt.Errorf("deleting webhook endpoint: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return issuance.ErrNotFound
	}
	return nil
}

var _ webhook.DecisionStore = (*Store)(nil)

const decisionColumns = `tenant_id, url, timeout_ms, default_action, created_at, updated_at, seal_key_ref, secret_sealed`

func scanDecision(row pgx.Row) (webhook.DecisionEndpoint, error) {
	var e webhook.DecisionEndpoint
	err := row.Scan(&e.TenantID, &e.URL, &e.TimeoutMS, &e.DefaultAction, &e.CreatedAt, &e.UpdatedAt, &e.SealKeyRef, &e.Sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, issuance.ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("reading decision endpoint: %w", err)
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, nil
}

// PutDecisionEndpoint implements webhook.DecisionStore.
func (s *Store) PutDecisionEndpoint(ctx context.Context, e webhook.DecisionEndpoint) (webhook.DecisionEndpoint, error) {
	if e.Sealed == nil {
		return scanDecision(s.pool.QueryRow(ctx, `UPDATE authorization_decision_endpoints SET url = $2, timeout_ms = $3,
			default_action = $4, updated_at = $5 WHERE tenant_id = $1 RETURNING `+decisionColumns,
			e.TenantID, e.URL, e.TimeoutMS, e.DefaultAction, e.UpdatedAt))
	}
	out, err := scanDecision(s.pool.QueryRow(ctx, `INSERT INTO authorization_decision_endpoints
		(tenant_id, url, timeout_ms, default_action, seal_key_ref, secret_sealed, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (tenant_id) DO NOTHING
		RETURNING `+decisionColumns, e.TenantID, e.URL, e.TimeoutMS, e.DefaultAction, e.SealKeyRef, e.Sealed, e.CreatedAt))
	if errors.Is(err, issuance.ErrNotFound) {
		return out, webhook.ErrDecisionExists // another first PUT won
	}
	return out, err
}

// DecisionEndpoint implements webhook.DecisionStore.
func (s *Store) DecisionEndpoint(ctx context.Context, tenantID string) (webhook.DecisionEndpoint, error) {
	return scanDecision(s.pool.QueryRow(ctx, `SELECT `+decisionColumns+` FROM authorization_decision_endpoints WHERE tenant_id = $1`, tenantID))
}

// DeleteDecisionEndpoint implements webhook.DecisionStore.
func (s *Store) DeleteDecisionEndpoint(ctx context.Context, tenantID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM authorization_decision_endpoints WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return fmt.Errorf("deleting decision endpoint: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return issuance.ErrNotFound
	}
	return nil
}

// DecisionEndpoints implements webhook.DecisionStore.
func (s *Store) DecisionEndpoints(ctx context.Context) ([]webhook.DecisionEndpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+decisionColumns+` FROM authorization_decision_endpoints`)
	if err != nil {
		return nil, fmt.Errorf("reading decision endpoints: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.DecisionEndpoint, error) { return scanDecision(r) })
}
