package catalog

import (
	"log/slog"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// Service creates, reads and changes a tenant's catalog: data prep
// templates, embossers, card layouts, products and cardholders. It holds no
// state of its own and is safe for concurrent use.
type Service struct {
	d Deps
}

// Deps are the Service's collaborators.
type Deps struct {
	// Store persists the catalog (issuance/postgres).
	Store issuance.CatalogStore
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives logs (never card data). Default: discard.
	Logger *slog.Logger
}

// New returns a Service over d.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}
}

func (s *Service) now() time.Time { return s.d.Now().UTC() }
