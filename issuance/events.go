package issuance

import (
	"encoding/json"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

func tenantCreatedEvent(t Tenant, now time.Time) ([]kafka.Event, error) {
	ev, err := kafka.NewEvent(kafka.TypeTenantCreated, t.ID, t.ID, kafka.TenantData{ID: t.ID, Name: t.Name}, now)
	if err != nil {
		return nil, err
	}
	return []kafka.Event{ev}, nil
}

// CardEvent builds a card.* event with the card as it is after the change.
// previous is the status before a status change ("" otherwise); reason says
// why it changed. withControls adds the card's controls (card.created,
// card.controls_updated). It is the one place card payloads are built, for
// the REST side and for the authorization host (one-time cancellation).
func CardEvent(typ string, c *Card, previous Status, reason string, withControls bool, now time.Time) (kafka.Event, error) {
	d := kafka.CardData{
		ID:           c.ID,
		TenantID:     c.TenantID,
		ProductID:    c.ProductID,
		CardholderID: c.CardholderID,
		ReferenceID:  c.ReferenceID,
		Type:         string(c.Type),
		Status:       string(c.Status),
		Reason:       reason,
		Last4:        c.Last4,
		Expiry:       c.Expiry,
		UsageType:    string(c.UsageType),
		Currency:     c.Currency,
		ExpiryAt:     c.ExpiryAt,
		ValidUntil:   c.ValidUntil, Replaces: c.Replaces, ReplacedBy: c.ReplacedBy,
		CreatedAt: c.CreatedAt,
		UpdatedAt: now,
	}
	if previous != c.Status {
		d.PreviousStatus = string(previous)
	}
	if c.CardLimit != nil {
		d.CardLimit = *c.CardLimit
	}
	if withControls {
		b, err := json.Marshal(struct {
			SpendingControls []SpendingControl `json:"spending_controls"`
			RiskControls     RiskControls      `json:"risk_controls"`
		}{c.SpendingControls, c.RiskControls})
		if err != nil {
			return kafka.Event{}, err
		}
		d.Controls = b
	}
	return kafka.NewEvent(typ, c.ID, c.TenantID, d, now)
}
