package catalog

import (
	"context"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// Service creates, reads and changes a tenant's catalog: data prep
// templates, embossers, card layouts, products and cardholders. It holds no
// state of its own and is safe for concurrent use.
type Service struct {
	d issuance.Deps
}

// New returns a Service over the card domain's collaborators: it uses
// d.Catalog (the store) and d.Now (default time.Now).
func New(d issuance.Deps) *Service { return &Service{d: d.WithDefaults()} }

func (s *Service) now() time.Time { return s.d.UTCNow() }

// get reads one catalog object: an id without the kind's prefix is
// ErrNotFound without a store call.
func get[T any](ctx context.Context, tenantID, id, prefix string, read func(context.Context, string, string) (T, error)) (T, error) {
	if !issuance.ValidID(prefix, id) {
		var zero T
		return zero, issuance.ErrNotFound
	}
	return read(ctx, tenantID, id)
}

// list checks a page request of the kind (and, with check, the filter's
// other fields) before the store lists.
func list[T, F any](ctx context.Context, tenantID string, p issuance.PageRequest, prefix string, f F, check func(*issuance.Validator),
	read func(context.Context, string, F) ([]T, bool, error)) ([]T, bool, error) {
	var v issuance.Validator
	issuance.ValidatePage(&v, p, prefix)
	if check != nil {
		check(&v)
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	return read(ctx, tenantID, f)
}

// stored returns v once storing it succeeded (err nil).
func stored[T any](v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}
