package catalog

import (
	"context"
	"strings"

	"github.com/cardhost/cardhost/issuance"
)

// Idempotency policies of a tenant (issuance.TenantSettings).
const (
	// IdempotencyOptional: a request without an Idempotency-Key runs (the
	// default).
	IdempotencyOptional = "optional"
	// IdempotencyRequired: every operation that takes an Idempotency-Key
	// refuses a request without one (400 idempotency_key_required).
	IdempotencyRequired = "required"
)

// TenantSettingsUpdate is a partial change to a tenant's settings (PATCH
// /v1/tenant, `cardhost tenants set`): nil fields stay as they are.
type TenantSettingsUpdate struct {
	IdempotencyPolicy *string `json:"idempotency_policy,omitempty" enum:"optional,required" doc:"required: every operation that takes an Idempotency-Key refuses a request without one (400 idempotency_key_required)"`
	DefaultCurrency   *string `json:"default_currency,omitempty" doc:"ISO 4217 alpha code: the currency of a card product created without one"`
}

// UpdateTenantSettings changes a tenant's settings: idempotency_policy
// optional or required, default_currency an ISO 4217 code. Rejections:
// validation_failed, nothing_to_update; ErrNotFound.
func (s *Service) UpdateTenantSettings(ctx context.Context, tenantID string, u TenantSettingsUpdate) (issuance.Tenant, error) {
	if u.IdempotencyPolicy == nil && u.DefaultCurrency == nil {
		return issuance.Tenant{}, issuance.Errorf(issuance.SlugNothingToUpdate, "give idempotency_policy or default_currency")
	}
	t, err := s.d.Tenants.Tenant(ctx, tenantID)
	if err != nil {
		return issuance.Tenant{}, err
	}
	set := t.TenantSettings
	var v issuance.Validator
	if u.IdempotencyPolicy != nil {
		set.IdempotencyPolicy = *u.IdempotencyPolicy
		v.Check(set.IdempotencyPolicy == IdempotencyOptional || set.IdempotencyPolicy == IdempotencyRequired,
			"idempotency_policy", "invalid", "optional or required")
	}
	if u.DefaultCurrency != nil {
		set.DefaultCurrency = strings.ToUpper(strings.TrimSpace(*u.DefaultCurrency))
		v.Check(issuance.ValidCurrency(set.DefaultCurrency), "default_currency", "invalid", "an ISO 4217 alpha code such as USD")
	}
	if err := v.Err(); err != nil {
		return issuance.Tenant{}, err
	}
	t, err = s.d.Tenants.SetTenantSettings(ctx, tenantID, set)
	if err != nil {
		return issuance.Tenant{}, err
	}
	s.d.Logger.Info("tenant settings changed", "tenant_id", tenantID, "idempotency_policy", set.IdempotencyPolicy, "default_currency", set.DefaultCurrency)
	return t, nil
}

// productCurrency is the currency of a product created without one: the
// tenant's default currency (data prep templates carry none).
func (s *Service) productCurrency(ctx context.Context, tenantID string) (string, error) {
	t, err := s.d.Tenants.Tenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	return t.DefaultCurrency, nil
}
