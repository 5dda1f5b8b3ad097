package cvv2

import (
	"context"
	"strconv"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// CVV2 policies of a product (cvv2_policy).
const (
	// Required: a card-not-present request without a CVV2 declines
	// (host reason cvv2_missing). The default.
	Required = "REQUIRED"
	// IfPresent: a CVV2 is verified when the request carries one; a
	// request without one is not declined for it.
	IfPresent = "IF_PRESENT"
)

// Limits of cvv2_max_tries.
const (
	// DefaultMaxTries is the product's limit when none is given.
	DefaultMaxTries = 5
	// MaxTries is the highest limit a product may set.
	MaxTries = 99
)

// AuditTriesReset is the audit action of a reset of a card's CVV2 tries.
const AuditTriesReset = "card.cvv2_tries_reset"

// Normalize sets a new product's defaults: policy REQUIRED, 5 tries.
func Normalize(p *issuance.Product) {
	if p.CVV2Policy == "" {
		p.CVV2Policy = Required
	}
	if p.CVV2MaxTries == 0 {
		p.CVV2MaxTries = DefaultMaxTries
	}
}

// Validate checks a product's policy and limit (validation_failed on
// fields cvv2_policy and cvv2_max_tries).
func Validate(v *issuance.Validator, policy string, maxTries int) {
	v.Check(policy == Required || policy == IfPresent, "cvv2_policy", "invalid", "one of REQUIRED, IF_PRESENT")
	v.Check(maxTries >= 1 && maxTries <= MaxTries, "cvv2_max_tries", "out_of_range", "1 to "+strconv.Itoa(MaxTries))
}

// IsRequired reports whether card c declines a card-not-present request
// without a CVV2 (any policy but IF_PRESENT, so a card without one
// requires it).
func IsRequired(c *issuance.Card) bool { return c.CVV2Policy != IfPresent }

// MaxTriesOf returns card c's limit of consecutive wrong CVV2s (the
// default when it has none).
func MaxTriesOf(c *issuance.Card) int {
	if c.CVV2MaxTries <= 0 {
		return DefaultMaxTries
	}
	return c.CVV2MaxTries
}

// Service resets cards' CVV2 tries. It holds no state of its own and is
// safe for concurrent use.
type Service struct {
	d issuance.Deps
}

// New returns a Service over the card domain's collaborators: it uses
// d.Cards (the store), d.Now and d.Logger.
func New(d issuance.Deps) *Service { return &Service{d: d.WithDefaults()} }

// ResetTries sets a card's count of consecutive wrong CVV2s to zero, so
// that its card-not-present requests are decided again (POST
// /v1/cards/{id}/cvv2-tries/reset). It bumps the card's version, so every
// authorization host instance drops its cached snapshot at the card's next
// request; records who asked in the card's audit trail; and publishes
// card.cvv2_tries_reset, in the same transaction. Resetting a counter
// already at zero does the same (the issuer asked). Rejections:
// card_closed (BLOCKED, CANCELED or EXPIRED); ErrNotFound.
func (s *Service) ResetTries(ctx context.Context, a issuance.Actor, tenantID, cardID string) (issuance.Card, error) {
	if !issuance.ValidID(issuance.CardIDPrefix, cardID) {
		return issuance.Card{}, issuance.ErrNotFound
	}
	card, err := s.d.Cards.UpdateCard(ctx, tenantID, cardID, func(ch *issuance.CardChange) error {
		c := &ch.Card
		if c.Status.Terminal() {
			return issuance.Errorf(issuance.SlugCardClosed, "card %s is %s", c.ID, c.Status)
		}
		now := s.d.UTCNow()
		c.UpdatedAt = now
		ch.ResetCVV2Tries = true
		ch.Audit = &issuance.AuditEntry{ID: issuance.NewID("aud", now), TenantID: c.TenantID, CardID: c.ID, Action: AuditTriesReset,
			APIKeyID: a.APIKeyID, KeyTenantID: a.KeyTenantID, RequestID: a.RequestID, At: now}
		ev, err := issuance.CardEvent(kafka.TypeCardCVV2TriesReset, c, c.Status, "", false, now)
		if err != nil {
			return err
		}
		ch.Events = append(ch.Events, ev)
		return nil
	})
	if err != nil {
		return issuance.Card{}, err
	}
	s.d.Logger.Info("card CVV2 tries reset", "tenant_id", tenantID, "card_id", card.ID, "api_key_id", a.APIKeyID, "request_id", a.RequestID)
	return card, nil
}
