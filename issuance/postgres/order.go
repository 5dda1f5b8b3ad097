package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// Card orders: one per card create (single, batch item, import).

const orderColumns = `id, tenant_id, type, status, issue_status, coalesce(card_id, ''), coalesce(batch_id, ''), coalesce(batch_index, 0),
	reference_id, last_error, last_error_slug, created_at, updated_at, completed_at, failed_at`

func scanOrder(row pgx.Row) (issuance.Order, error) {
	var o issuance.Order
	var typ, status, issue string
	err := row.Scan(&o.ID, &o.TenantID, &typ, &status, &issue, &o.CardID, &o.BatchID, &o.BatchIndex,
		&o.ReferenceID, &o.LastError, &o.LastErrorSlug, &o.CreatedAt, &o.UpdatedAt, &o.CompletedAt, &o.FailedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, issuance.ErrNotFound
	}
	if err != nil {
		return o, fmt.Errorf("reading order: %w", err)
	}
	o.Type, o.Status, o.IssueStatus = issuance.OrderType(typ), issuance.OrderStatus(status), issuance.IssueStatus(issue)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	if o.CompletedAt != nil {
		t := o.CompletedAt.UTC()
		o.CompletedAt = &t
	}
	if o.FailedAt != nil {
		t := o.FailedAt.UTC()
		o.FailedAt = &t
	}
	return o, nil
}

func insertOrder(ctx context.Context, tx pgx.Tx, o *issuance.Order) error {
	_, err := tx.Exec(ctx, `INSERT INTO card_orders (id, tenant_id, type, status, issue_status, card_id, batch_id, batch_index,
		reference_id, last_error, last_error_slug, created_at, updated_at, completed_at, failed_at)
		VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, $9, $10, $11, $12, $13, $14, $15)`,
		o.ID, o.TenantID, string(o.Type), string(o.Status), string(o.IssueStatus), o.CardID, o.BatchID, batchIndexArg(o),
		o.ReferenceID, o.LastError, o.LastErrorSlug, o.CreatedAt, o.UpdatedAt, o.CompletedAt, o.FailedAt)
	if err != nil {
		return fmt.Errorf("inserting order: %w", err)
	}
	return nil
}

func batchIndexArg(o *issuance.Order) any {
	if o.BatchID == "" {
		return nil
	}
	return o.BatchIndex
}

func updateOrder(ctx context.Context, tx pgx.Tx, o *issuance.Order) error {
	_, err := tx.Exec(ctx, `UPDATE card_orders SET status = $3, issue_status = $4, card_id = nullif($5, ''), last_error = $6,
		last_error_slug = $7, updated_at = $8, completed_at = $9, failed_at = $10 WHERE tenant_id = $1 AND id = $2`,
		o.TenantID, o.ID, string(o.Status), string(o.IssueStatus), o.CardID, o.LastError, o.LastErrorSlug, o.UpdatedAt, o.CompletedAt, o.FailedAt)
	if err != nil {
		return fmt.Errorf("updating order: %w", err)
	}
	return nil
}

// lockOpenOrder locks an order that must still be new (a batch item not
// yet settled): issuance.ErrOrderSettled otherwise.
func lockOpenOrder(ctx context.Context, tx pgx.Tx, tenantID, id string) error {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM card_orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return issuance.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("locking order: %w", err)
	}
	if status != string(issuance.OrderNew) {
		return issuance.ErrOrderSettled
	}
	return nil
}

// orders lists card orders (created and settled with their cards).
var orders = &tenantTable[issuance.Order]{what: "order", plural: "orders", table: "card_orders", columns: orderColumns, scan: scanOrder}

// Order implements issuance.CardStore.
func (db *DB) Order(ctx context.Context, tenantID, id string) (issuance.Order, error) {
	return scanOrder(db.pool.QueryRow(ctx, `SELECT `+orderColumns+` FROM card_orders WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// Orders implements issuance.CardStore.
func (db *DB) Orders(ctx context.Context, tenantID string, f issuance.OrderFilter) ([]issuance.Order, bool, error) {
	return orders.list(ctx, db, tenantID, f.PageRequest, eq("status", string(f.Status)), eq("card_id", f.CardID), eq("batch_id", f.BatchID))
}

// FailOrder implements issuance.CardStore.
func (db *DB) FailOrder(ctx context.Context, o issuance.Order, item issuance.BatchItem, events []kafka.Event) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockOpenOrder(ctx, tx, o.TenantID, o.ID); err != nil {
			return err
		}
		if err := updateOrder(ctx, tx, &o); err != nil {
			return err
		}
		if o.BatchID != "" {
			if err := settleBatchItem(ctx, tx, o.BatchID, &item, o.UpdatedAt); err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, events)
	})
}
