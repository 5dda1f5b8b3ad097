package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
)

// Card batches and their items.

const batchColumns = `id, tenant_id, request_id, request_hash, status, total, succeeded, failed, created_at, updated_at, completed_at`

func scanBatch(row pgx.Row) (issuance.Batch, error) {
	var b issuance.Batch
	var status string
	err := row.Scan(&b.ID, &b.TenantID, &b.RequestID, &b.RequestHash, &status, &b.Total, &b.Succeeded, &b.Failed, &b.CreatedAt, &b.UpdatedAt, &b.CompletedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, issuance.ErrNotFound
	}
	if err != nil {
		return b, fmt.Errorf("reading batch: %w", err)
	}
	b.Status = issuance.BatchStatus(status)
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	if b.CompletedAt != nil {
		t := b.CompletedAt.UTC()
		b.CompletedAt = &t
	}
	return b, nil
}

// CreateBatch implements issuance.CardStore.
func (db *DB) CreateBatch(ctx context.Context, b issuance.Batch, requests [][]byte, orders []issuance.Order) (issuance.Batch, bool, error) {
	if len(requests) != len(orders) {
		return issuance.Batch{}, false, errors.New("creating batch: one order per request")
	}
	var out issuance.Batch
	existed := false
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `INSERT INTO card_batches (id, tenant_id, request_id, request_hash, status, total, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, request_id) DO NOTHING RETURNING id`,
			b.ID, b.TenantID, b.RequestID, b.RequestHash, string(b.Status), b.Total, b.CreatedAt, b.UpdatedAt).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			existed = true
			out, err = scanBatch(tx.QueryRow(ctx, `SELECT `+batchColumns+` FROM card_batches WHERE tenant_id = $1 AND request_id = $2`, b.TenantID, b.RequestID))
			return err
		}
		if err != nil {
			return fmt.Errorf("inserting batch: %w", err)
		}
		n := len(orders)
		ids, types, statuses, issues, refs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		idx := make([]int32, n)
		for i, o := range orders {
			ids[i], types[i], statuses[i], issues[i], refs[i], idx[i] = o.ID, string(o.Type), string(o.Status), string(o.IssueStatus), o.ReferenceID, int32(o.BatchIndex)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO card_orders (id, tenant_id, type, status, issue_status, batch_id, batch_index, reference_id, created_at, updated_at)
			SELECT o.id, $1, o.type, o.status, o.issue, $2, o.idx, o.ref, $3, $3
			FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[]) AS o(id, type, status, issue, idx, ref)`,
			b.TenantID, b.ID, b.CreatedAt, ids, types, statuses, issues, idx, refs); err != nil {
			return fmt.Errorf("inserting batch orders: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO card_batch_items (batch_id, idx, tenant_id, order_id, status, request, reference_id, locked_until, created_at)
			SELECT $1, i.idx, $2, i.order_id, 'pending', i.request, i.ref, $3, $3
			FROM unnest($4::int[], $5::text[], $6::json[], $7::text[]) AS i(idx, order_id, request, ref)`,
			b.ID, b.TenantID, b.CreatedAt, idx, ids, requests, refs); err != nil {
			return fmt.Errorf("inserting batch items: %w", err)
		}
		out = b
		return nil
	})
	return out, existed, err
}

// Batch implements issuance.CardStore.
func (db *DB) Batch(ctx context.Context, tenantID, id string) (issuance.Batch, error) {
	b, err := scanBatch(db.pool.QueryRow(ctx, `SELECT `+batchColumns+` FROM card_batches WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return b, err
	}
	rows, err := db.pool.Query(ctx, `SELECT idx, status, order_id, coalesce(card_id, ''), reference_id, error_slug, error_message, errors
		FROM card_batch_items WHERE batch_id = $1 ORDER BY idx`, id)
	if err != nil {
		return b, fmt.Errorf("reading batch items: %w", err)
	}
	b.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (issuance.BatchItem, error) {
		var it issuance.BatchItem
		var status string
		var fields []byte
		if err := r.Scan(&it.Index, &status, &it.OrderID, &it.CardID, &it.ReferenceID, &it.ErrorSlug, &it.ErrorMessage, &fields); err != nil {
			return it, err
		}
		it.Status = issuance.BatchItemStatus(status)
		if len(fields) > 0 {
			if err := json.Unmarshal(fields, &it.Errors); err != nil {
				return it, err
			}
		}
		return it, nil
	})
	if err != nil {
		return b, fmt.Errorf("reading batch items: %w", err)
	}
	return b, nil
}

// batches lists card batches (created and read with their items below).
var batches = &tenantTable[issuance.Batch]{what: "batch", plural: "batches", table: "card_batches", columns: batchColumns, scan: scanBatch}

// Batches implements issuance.CardStore.
func (db *DB) Batches(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Batch, bool, error) {
	return batches.list(ctx, db, tenantID, p)
}

// ClaimBatchItems implements issuance.CardStore.
func (db *DB) ClaimBatchItems(ctx context.Context, now time.Time, leaseFor time.Duration, limit int) ([]issuance.BatchWork, error) {
	rows, err := db.pool.Query(ctx, `UPDATE card_batch_items i SET locked_until = $2, attempts = i.attempts + 1
		FROM (SELECT batch_id, idx FROM card_batch_items WHERE status = 'pending' AND locked_until <= $1
		      ORDER BY created_at, batch_id, idx LIMIT $3 FOR UPDATE SKIP LOCKED) s
		WHERE i.batch_id = s.batch_id AND i.idx = s.idx
		RETURNING i.tenant_id, i.batch_id, i.idx, i.order_id, i.request, i.attempts`, now, now.Add(leaseFor), limit)
	if err != nil {
		return nil, fmt.Errorf("claiming batch items: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (issuance.BatchWork, error) {
		var w issuance.BatchWork
		var req []byte
		err := r.Scan(&w.TenantID, &w.BatchID, &w.Index, &w.OrderID, &req, &w.Attempts)
		w.Request = req
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming batch items: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].BatchID != out[j].BatchID {
			return out[i].BatchID < out[j].BatchID
		}
		return out[i].Index < out[j].Index
	})
	return out, nil
}

// settleBatchItem records an item's outcome (clearing its request, which
// may hold a PIN block) and counts it in its batch; the batch completes
// with its last item.
func settleBatchItem(ctx context.Context, tx pgx.Tx, batchID string, it *issuance.BatchItem, now time.Time) error {
	var fields any
	if len(it.Errors) > 0 {
		s, err := jsonArg(it.Errors)
		if err != nil {
			return err
		}
		fields = s
	}
	tag, err := tx.Exec(ctx, `UPDATE card_batch_items SET status = $3, card_id = nullif($4, ''), error_slug = $5, error_message = $6,
		errors = $7, request = NULL WHERE batch_id = $1 AND idx = $2 AND status = 'pending'`,
		batchID, it.Index, string(it.Status), it.CardID, it.ErrorSlug, it.ErrorMessage, fields)
	if err != nil {
		return fmt.Errorf("settling batch item: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return issuance.ErrOrderSettled
	}
	ok, failed := 1, 0
	if it.Status == issuance.BatchItemFailed {
		ok, failed = 0, 1
	}
	if _, err := tx.Exec(ctx, `UPDATE card_batches SET succeeded = succeeded + $2, failed = failed + $3, updated_at = $4,
		status = CASE WHEN succeeded + failed + $2 + $3 >= total THEN 'completed' ELSE status END,
		completed_at = CASE WHEN succeeded + failed + $2 + $3 >= total THEN $4 ELSE completed_at END
		WHERE id = $1`, batchID, ok, failed, now); err != nil {
		return fmt.Errorf("counting batch item: %w", err)
	}
	return nil
}
