package ca

import (
	"log/slog"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// Service issues issuer certificates and registers tenants' request-signing
// keys. It holds no state of its own and is safe for concurrent use.
type Service struct {
	d Deps
}

// Deps are the Service's collaborators.
type Deps struct {
	// Store persists certificates (issuance/postgres).
	Store Store
	// Tenants stores the tenants' signing keys.
	Tenants issuance.TenantStore
	// Vault is the HSM: its CA key signs the certificates.
	Vault issuance.Vault
	// Keys are the platform's key references; Keys.CA signs.
	Keys issuance.SystemKeys
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives logs (never key material). Default: discard.
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
