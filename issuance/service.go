package issuance

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// Service is the card domain's application service: it validates requests,
// applies business rules and asks the stores to persist changes together
// with their events. It holds no state of its own and is safe for
// concurrent use.
type Service struct {
	d Deps
}

// Deps are the Service's collaborators. Stores are small interfaces
// implemented by the PostgreSQL adapter; Vault by the software HSM.
type Deps struct {
	Tenants TenantStore
	// Catalog stores templates, embossers, layouts, products, cardholders
	// and certificates.
	Catalog CatalogStore
	// Cards stores cards, orders and batches.
	Cards CardStore
	// Vault is the HSM.
	Vault Vault
	// Keys are the platform's own key references.
	Keys SystemKeys
	// Sandbox enables the simulator and sandbox-only behaviour.
	Sandbox bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives domain logs (never card data). Default: discard.
	Logger *slog.Logger
}

// NewService returns a Service over deps.
func NewService(d Deps) *Service { return &Service{d: d.WithDefaults()} }

// WithDefaults returns d with its defaults set: the time.Now clock and a
// logger that discards. The rooms beside the Service (issuance/ca,
// issuance/catalog) take the same Deps.
func (d Deps) WithDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// UTCNow reads the clock, in UTC.
func (d Deps) UTCNow() time.Time { return d.Now().UTC() }

func (s *Service) now() time.Time { return s.d.UTCNow() }

// Keys returns the platform's key references.
func (s *Service) Keys() SystemKeys { return s.d.Keys }

// CreateTenant creates a tenant with a first API key (with the given
// scopes) and publishes tenant.created. It returns the key's secret, which
// is shown once and stored only hashed.
func (s *Service) CreateTenant(ctx context.Context, name string, sandbox bool, scopes []string) (Tenant, string, error) {
	name = strings.TrimSpace(name)
	var v Validator
	v.Check(name != "", "name", "required", "a tenant needs a name")
	v.Check(len(name) <= 200, "name", "too_long", "at most 200 characters")
	checkScopes(&v, scopes)
	if err := v.Err(); err != nil {
		return Tenant{}, "", err
	}
	now := s.now()
	t := Tenant{ID: NewID("ten", now), Name: name, Sandbox: sandbox, CreatedAt: now}
	secret, key := NewAPIKey(t.ID, FirstKeyName, scopes, now)
	ev, err := tenantCreatedEvent(t, now)
	if err != nil {
		return Tenant{}, "", err
	}
	if err := s.d.Tenants.CreateTenant(ctx, t, key, ev); err != nil {
		return Tenant{}, "", err
	}
	s.d.Logger.Info("tenant created", "tenant_id", t.ID, "sandbox", sandbox)
	return t, secret, nil
}

// CreateAPIKey adds an API key to a tenant for the actor by and returns
// its secret. It fails with validation_failed for a bad name or an unknown
// scope, and with scope_not_held for a scope that by does not hold.
func (s *Service) CreateAPIKey(ctx context.Context, tenantID string, by Actor, r KeyRequest) (APIKey, string, error) {
	if err := r.validate(); err != nil {
		return APIKey{}, "", err
	}
	if err := r.checkHeld(by); err != nil {
		s.d.Logger.Warn("API key creation refused", "tenant_id", tenantID, "api_key_id", by.APIKeyID, "request_id", by.RequestID, "slug", SlugScopeNotHeld, "scopes", r.Scopes)
		return APIKey{}, "", err
	}
	secret, key := NewAPIKey(tenantID, r.Name, r.Scopes, s.now())
	if err := s.d.Tenants.CreateAPIKey(ctx, key); err != nil {
		return APIKey{}, "", err
	}
	s.d.Logger.Info("API key created", "tenant_id", tenantID, "key_id", key.ID, "scopes", key.Scopes, "api_key_id", by.APIKeyID, "api_key_tenant_id", by.KeyTenantID, "request_id", by.RequestID)
	return key, secret, nil
}

// RevokeAPIKey revokes a tenant's key; it fails at once on every instance.
func (s *Service) RevokeAPIKey(ctx context.Context, tenantID, keyID string) error {
	return s.d.Tenants.RevokeAPIKey(ctx, tenantID, keyID, s.now())
}

// APIKeys lists a tenant's API keys.
func (s *Service) APIKeys(ctx context.Context, tenantID string) ([]APIKey, error) {
	return s.d.Tenants.APIKeys(ctx, tenantID)
}

// Tenants lists every tenant (operator command).
func (s *Service) Tenants(ctx context.Context) ([]Tenant, error) { return s.d.Tenants.Tenants(ctx) }
