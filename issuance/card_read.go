package issuance

import (
	"context"
	"strings"

	"github.com/cardhost/cardhost/iso/digit"
)

// Card returns one of a tenant's cards; ErrNotFound for another tenant's.
func (s *Service) Card(ctx context.Context, tenantID, id string) (Card, error) {
	if !ValidID(CardIDPrefix, id) {
		return Card{}, ErrNotFound
	}
	return s.d.Cards.Card(ctx, tenantID, id)
}

// Cards lists a tenant's cards, newest first, filtered; it reports whether
// more follow. Rejections: validation_failed.
func (s *Service) Cards(ctx context.Context, tenantID string, f CardFilter) ([]Card, bool, error) {
	var v Validator
	ValidatePage(&v, f.PageRequest, CardIDPrefix)
	v.Check(f.Status == "" || f.Status.Valid(), "status", "invalid", "a card status")
	v.Check(f.Last4 == "" || (len(f.Last4) == 4 && digit.All(f.Last4)), "last4", "invalid", "four digits")
	v.Check(len(f.ReferenceID) <= MaxReferenceID, "reference_id", "too_long", "at most 64 characters")
	if f.CreatedAfter != nil && f.CreatedBefore != nil {
		v.Check(f.CreatedAfter.Before(*f.CreatedBefore), "created_before", "invalid", "must be after created_after")
	}
	f.ProductID, f.CardholderID = strings.TrimSpace(f.ProductID), strings.TrimSpace(f.CardholderID)
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	return s.d.Cards.Cards(ctx, tenantID, f)
}

// Order returns one of a tenant's orders.
func (s *Service) Order(ctx context.Context, tenantID, id string) (Order, error) {
	if !ValidID("ord", id) {
		return Order{}, ErrNotFound
	}
	return s.d.Cards.Order(ctx, tenantID, id)
}

// Orders lists a tenant's orders, newest first. Rejections:
// validation_failed.
func (s *Service) Orders(ctx context.Context, tenantID string, f OrderFilter) ([]Order, bool, error) {
	var v Validator
	ValidatePage(&v, f.PageRequest, "ord")
	switch f.Status {
	case "", OrderNew, OrderProcessing, OrderCompleted, OrderFailed:
	default:
		v.Add("status", "invalid", "one of new, processing, completed, failed")
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	return s.d.Cards.Orders(ctx, tenantID, f)
}

// CardAuditTrail lists who accessed a card's data (reveals, sandbox
// exports and PINs), oldest first. Rejections: not found (another tenant's
// card included).
func (s *Service) CardAuditTrail(ctx context.Context, tenantID, cardID string) ([]AuditEntry, error) {
	if _, err := s.Card(ctx, tenantID, cardID); err != nil {
		return nil, err
	}
	return s.d.Cards.AuditTrail(ctx, tenantID, cardID)
}
