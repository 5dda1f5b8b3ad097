package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/kafka"
)

// claimSQL leases due deliveries: at most $5 per endpoint (or its room in
// $3/$4), the oldest due first, $6 in all, skipping rows another instance
// holds. The lease is next_attempt_at = $2; attempts counts this one.
const claimSQL = `WITH room(endpoint_id, n) AS (SELECT * FROM unnest($3::text[], $4::int[])),
	cand AS (
		SELECT x.id, x.endpoint_id, x.next_attempt_at,
			row_number() OVER (PARTITION BY x.endpoint_id ORDER BY x.next_attempt_at, x.id) AS rn
		FROM webhook_endpoints e
		CROSS JOIN LATERAL (
			SELECT d.id, d.endpoint_id, d.next_attempt_at FROM webhook_deliveries d
			WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= $1
			ORDER BY d.next_attempt_at, d.id LIMIT $5 FOR UPDATE OF d SKIP LOCKED) x
		WHERE NOT e.disabled
	), pick AS (
		SELECT c.id FROM cand c LEFT JOIN room r ON r.endpoint_id = c.endpoint_id
		WHERE c.rn <= coalesce(r.n, $5) ORDER BY c.next_attempt_at, c.id LIMIT $6
	)
	UPDATE webhook_deliveries d SET next_attempt_at = $2, attempts = d.attempts + 1, updated_at = $1
	FROM pick, webhook_endpoints e, webhook_events ev
	WHERE d.id = pick.id AND e.id = d.endpoint_id AND ev.tenant_id = d.tenant_id AND ev.id = d.event_id
	RETURNING d.id, d.attempts, ` + `e.id, e.tenant_id, e.url, e.seal_key_ref, e.secret_sealed, e.previous_secret_sealed, e.previous_secret_until,
		ev.id, ev.source, ev.type, ev.subject, ev.time, ev.tenant_id, ev.data`

// Claim implements webhook.Store.
func (s *Store) Claim(ctx context.Context, now, leaseUntil time.Time, limit, perEndpoint int, room map[string]int) ([]webhook.Job, error) {
	ids, rooms := make([]string, 0, len(room)), make([]int32, 0, len(room))
	for id, n := range room {
		ids, rooms = append(ids, id), append(rooms, int32(max(n, 0)))
	}
	var jobs []webhook.Job
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, claimSQL, now, leaseUntil, ids, rooms, perEndpoint, limit)
		if err != nil {
			return err
		}
		jobs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Job, error) {
			var j webhook.Job
			e, ev := &j.Endpoint, &j.Event
			err := r.Scan(&j.DeliveryID, &j.Attempt, &e.ID, &e.TenantID, &e.URL, &e.SealKeyRef, &e.Sealed, &e.SealedPrevious, &e.PreviousSecretExpiresAt,
				&ev.ID, &ev.Source, &ev.Type, &ev.Subject, &ev.Time, &ev.TenantID, (*[]byte)(&ev.Data))
			ev.SpecVersion, ev.DataContentType, ev.Time = kafka.SpecVersion, kafka.ContentTypeJSON, ev.Time.UTC()
			return j, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming webhook deliveries: %w", err)
	}
	return jobs, nil
}

// Release implements webhook.Store.
func (s *Store) Release(ctx context.Context, deliveryID int64, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $2, attempts = greatest(attempts - 1, 0), updated_at = $2
		WHERE id = $1 AND status = 'pending'`, deliveryID, at)
	if err != nil {
		return fmt.Errorf("releasing webhook delivery: %w", err)
	}
	return nil
}

// Record implements webhook.Store.
func (s *Store) Record(ctx context.Context, o webhook.Outcome, failingLimit time.Time, disabled func(string, *time.Time) (kafka.Event, error)) (string, error) {
	var reason string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		reason = ""
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts (tenant_id, event_id, endpoint_id, delivery_id, attempt, attempted_at, status_code, duration_ms, error, delivered)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, o.TenantID, o.EventID, o.EndpointID, o.DeliveryID, o.Attempt, o.At,
			o.StatusCode, o.Duration.Milliseconds(), o.Error, o.Delivered); err != nil {
			return fmt.Errorf("recording webhook attempt: %w", err)
		}
		// A delivery failed by disabling its endpoint stays failed unless
		// this attempt (in flight meanwhile) delivered it.
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET updated_at = $2,
				status = CASE WHEN $3 THEN 'delivered' WHEN status <> 'pending' THEN status WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
				next_attempt_at = coalesce($4, next_attempt_at)
			WHERE id = $1`, o.DeliveryID, o.At, o.Delivered, o.NextAttemptAt); err != nil {
			return fmt.Errorf("recording webhook delivery: %w", err)
		}
		var since *time.Time
		var off bool
		err := tx.QueryRow(ctx, `UPDATE webhook_endpoints SET failing_since = CASE WHEN $2 THEN NULL ELSE coalesce(failing_since, $3) END
			WHERE id = $1 RETURNING failing_since, disabled`, o.EndpointID, o.Delivered, o.At).Scan(&since, &off)
		switch {
		case errors.Is(err, pgx.ErrNoRows) || off || o.Delivered: // deleted meanwhile, disabled already, or fine
			return nil
		case err != nil:
			return fmt.Errorf("recording webhook endpoint failure: %w", err)
		case o.Gone:
			reason = webhook.DisabledGone
		case since != nil && !since.After(failingLimit):
			reason = webhook.DisabledFailing
		default:
			return nil
		}
		if since != nil {
			u := since.UTC()
			since = &u
		}
		ev, err := disabled(reason, since)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET disabled = true, disabled_reason = $2, disabled_at = $3, updated_at = $3 WHERE id = $1`,
			o.EndpointID, reason, o.At); err != nil {
			return fmt.Errorf("disabling webhook endpoint: %w", err)
		}
		if _, err := tx.Exec(ctx, failPending, o.EndpointID, o.At); err != nil {
			return fmt.Errorf("failing the deliveries of a disabled webhook endpoint: %w", err)
		}
		return issuancepg.InsertEvents(ctx, tx, []kafka.Event{ev})
	})
	return reason, err
}
