package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance/lifecycle"
)

var _ host.Lifecycles = (*DB)(nil)

// CardLifecycle implements host.Lifecycles: the card's lifecycle fields
// (cards.lifecycle, migration 0064), by card id across tenants (the host
// found the card by its PAN). host.ErrNotFound when there is no such card.
func (db *DB) CardLifecycle(ctx context.Context, cardID string) (lifecycle.Fields, error) {
	var f lifecycle.Fields
	err := db.pool.QueryRow(ctx, `SELECT lifecycle FROM cards WHERE id = $1`, cardID).Scan(&f)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, host.ErrNotFound
	}
	if err != nil {
		return f, WrapUnavailable(fmt.Errorf("reading card lifecycle: %w", err))
	}
	return f, nil
}
