package issuance

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// CardControls are a card's controls as the API renders them (and as
// card.created and card.controls_updated carry them).
type CardControls struct {
	CardLimit        *int64            `json:"card_limit"`
	SpendingControls []SpendingControl `json:"spending_controls"`
	RiskControls     RiskControls      `json:"risk_controls"`
}

// Controls returns the card's controls.
func (c *Card) Controls() CardControls {
	sc := c.SpendingControls
	if sc == nil {
		sc = []SpendingControl{}
	}
	return CardControls{CardLimit: c.CardLimit, SpendingControls: sc, RiskControls: c.RiskControls}
}

// cardEvent builds a card.* event about c after a change. prev is the
// status before a status change ("" otherwise); controls adds the
// controls to the payload.
func cardEvent(typ string, c *Card, prev Status, controls bool, now time.Time) (kafka.Event, error) {
	d := kafka.CardData{
		ID: c.ID, TenantID: c.TenantID, ProductID: c.ProductID, CardholderID: c.CardholderID,
		ReferenceID: c.ReferenceID, Type: string(c.Type), Status: string(c.Status), PreviousStatus: string(prev),
		Last4: c.Last4, Expiry: c.Expiry, UsageType: string(c.UsageType), Currency: c.Currency,
		ExpiryAt: c.ExpiryAt, ValidUntil: c.ValidUntil, Replaces: c.Replaces, ReplacedBy: c.ReplacedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if prev != "" {
		d.Reason = c.StatusReason
	}
	if c.CardLimit != nil {
		d.CardLimit = *c.CardLimit
	}
	if controls {
		b, err := json.Marshal(c.Controls())
		if err != nil {
			return kafka.Event{}, fmt.Errorf("encoding card controls: %w", err)
		}
		d.Controls = b
	}
	return kafka.NewEvent(typ, c.ID, c.TenantID, d, now)
}

// orderEvent builds order.completed or order.failed for a settled order.
func orderEvent(o *Order, now time.Time) (kafka.Event, error) {
	typ := kafka.TypeOrderCompleted
	if o.Status == OrderFailed {
		typ = kafka.TypeOrderFailed
	}
	d := kafka.OrderData{ID: o.ID, TenantID: o.TenantID, CardID: o.CardID, BatchID: o.BatchID,
		Status: string(o.Status), IssueStatus: string(o.IssueStatus), LastError: o.LastError, LastErrorSlug: o.LastErrorSlug}
	subject := o.CardID
	if subject == "" {
		subject = o.ID
	}
	return kafka.NewEvent(typ, subject, o.TenantID, d, now)
}

// events collects events, stopping at the first construction error.
type events struct {
	list []kafka.Event
	err  error
}

func (e *events) add(ev kafka.Event, err error) {
	if e.err != nil {
		return
	}
	if err != nil {
		e.err = err
		return
	}
	e.list = append(e.list, ev)
}
