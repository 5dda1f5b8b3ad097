package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/kafka"
)

// subscribes is webhook.Matches in SQL, for an endpoint e and an event ev
// (ch_webhook_ingest has the same condition).
const subscribes = `(ev.type = ANY(e.event_types) OR split_part(ev.type, '.', 1) || '.*' = ANY(e.event_types))`

// Ingest implements webhook.Store: ch_webhook_ingest (issuance/postgres,
// migration 0070, redefined by 0072, 0074 and 0077) reads the outbox rows past
// the dispatcher's cursor, adds a delivery per enabled endpoint of each
// event's tenant that subscribes to its type and existed when it
// happened, and moves the cursor on: one transaction, instances taking
// turns. It copies no event: since 0072 the outbox is the event store,
// which webhook_events views. While no endpoint is enabled it reads no row
// and answers 0 (0077).
func (s *Store) Ingest(ctx context.Context, limit int, now time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT ch_webhook_ingest($1, $2)`, limit, now).Scan(&n); err != nil {
		return 0, fmt.Errorf("ingesting outbox events: %w", err)
	}
	return n, nil
}

const eventColumns = `id, source, type, subject, time, tenant_id, data`

func scanEvent(row pgx.Row) (kafka.Event, error) {
	e := kafka.Event{SpecVersion: kafka.SpecVersion, DataContentType: kafka.ContentTypeJSON}
	err := row.Scan(&e.ID, &e.Source, &e.Type, &e.Subject, &e.Time, &e.TenantID, (*[]byte)(&e.Data))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, issuance.ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("reading event: %w", err)
	}
	e.Time = e.Time.UTC()
	return e, nil
}

// Events implements webhook.Store.
func (s *Store) Events(ctx context.Context, tenantID string, f webhook.EventFilter) ([]kafka.Event, bool, error) {
	n := f.Size()
	group := ""
	if g, ok := strings.CutSuffix(f.Type, ".*"); ok {
		group, f.Type = g, ""
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM webhook_events
		WHERE tenant_id = $1 AND time >= $2 AND ($3 = '' OR id < $3) AND ($4 = '' OR type = $4) AND ($5 = '' OR split_part(type, '.', 1) = $5)
		  AND ($6 = '' OR subject = $6) AND ($7::timestamptz IS NULL OR time >= $7) AND ($8::timestamptz IS NULL OR time < $8)
		ORDER BY id DESC LIMIT $9`,
		tenantID, f.Since, f.StartingAfter, f.Type, group, f.CardID, f.CreatedAfter, f.CreatedBefore, n+1)
	if err != nil {
		return nil, false, fmt.Errorf("listing events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (kafka.Event, error) { return scanEvent(r) })
	if err != nil {
		return nil, false, err
	}
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}

// Event implements webhook.Store.
func (s *Store) Event(ctx context.Context, tenantID, id string) (kafka.Event, error) {
	return scanEvent(s.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM webhook_events WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// Attempts implements webhook.Store.
func (s *Store) Attempts(ctx context.Context, tenantID, eventID string) ([]webhook.Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT event_id, endpoint_id, attempt, attempted_at, status_code, duration_ms, error, delivered
		FROM webhook_attempts WHERE tenant_id = $1 AND event_id = $2 ORDER BY id`, tenantID, eventID)
	if err != nil {
		return nil, fmt.Errorf("listing attempts: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Attempt, error) {
		var a webhook.Attempt
		err := r.Scan(&a.EventID, &a.EndpointID, &a.Attempt, &a.At, &a.StatusCode, &a.DurationMS, &a.Error, &a.Delivered)
		a.At = a.At.UTC()
		return a, err
	})
}

// Redeliver implements webhook.Store.
func (s *Store) Redeliver(ctx context.Context, tenantID, eventID string, endpointIDs []string, now time.Time) ([]string, error) {
	if len(endpointIDs) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `WITH added AS (
			INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
			SELECT e.tenant_id, e.id, ev.id, 'pending', $4, $4, $4
			FROM webhook_endpoints e JOIN webhook_events ev ON ev.tenant_id = e.tenant_id AND ev.id = $2
			WHERE e.tenant_id = $1 AND e.id = ANY($3) AND NOT e.disabled
			ON CONFLICT (endpoint_id, event_id) WHERE status = 'pending' DO NOTHING
			RETURNING endpoint_id)
		SELECT endpoint_id FROM added
		UNION SELECT endpoint_id FROM webhook_deliveries WHERE tenant_id = $1 AND event_id = $2 AND endpoint_id = ANY($3) AND status = 'pending'
		ORDER BY 1`, tenantID, eventID, endpointIDs, now)
	if err != nil {
		return nil, fmt.Errorf("redelivering event: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Recover implements webhook.Store.
func (s *Store) Recover(ctx context.Context, tenantID, endpointID string, since, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
		SELECT ev.tenant_id, e.id, ev.id, 'pending', $4, $4, $4
		FROM webhook_endpoints e JOIN webhook_events ev ON ev.tenant_id = e.tenant_id AND ev.time >= $3 AND ev.time >= e.created_at AND `+subscribes+`
		WHERE e.tenant_id = $1 AND e.id = $2 AND NOT e.disabled
		  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.event_id = ev.id AND d.status IN ('pending', 'delivered'))
		ON CONFLICT (endpoint_id, event_id) WHERE status = 'pending' DO NOTHING`, tenantID, endpointID, since, now)
	if err != nil {
		return 0, fmt.Errorf("recovering webhook deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Purge implements webhook.Store. The events themselves are outbox rows
// (migration 0072), deleted by the outbox's prune once they are older than
// the Events API's retention and both readers have handled them; Purge
// deletes the attempts made before before and the deliveries created
// before it that are no longer pending, up to limit of each.
func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `WITH a AS (
			DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE attempted_at < $1 ORDER BY id LIMIT $2) RETURNING 1
		), d AS (
			DELETE FROM webhook_deliveries WHERE id IN (
				SELECT id FROM webhook_deliveries WHERE created_at < $1 AND status <> 'pending' ORDER BY id LIMIT $2) RETURNING 1
		)
		SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM d)`, before, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("purging webhook deliveries: %w", err)
	}
	return n, nil
}
