package ca

import (
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// Service issues issuer certificates and registers tenants' request-signing
// keys. It holds no state of its own and is safe for concurrent use.
type Service struct {
	d     issuance.Deps
	certs Store
}

// New returns a Service over the card domain's collaborators and a
// certificate store. It uses d.Tenants (signing keys), d.Vault and d.Keys.CA
// (signing), d.Now (default time.Now) and d.Logger (default: discard).
func New(d issuance.Deps, certs Store) *Service {
	return &Service{d: d.WithDefaults(), certs: certs}
}

func (s *Service) now() time.Time { return s.d.UTCNow() }
