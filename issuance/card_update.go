package issuance

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/kafka"
)

// CardUpdate is a PATCH of a card: nil fields stay as they are; the
// Remove flags clear a field (JSON null in the request).
type CardUpdate struct {
	CardLimit        *int64
	RemoveCardLimit  bool
	SpendingControls *[]SpendingControl
	RiskControls     *RiskControls
	Metadata         json.RawMessage
	ExpiryAt         *time.Time
	RemoveExpiryAt   bool
	PrintedName      *string
}

// empty reports whether the update changes nothing.
func (u *CardUpdate) empty() bool {
	return u.CardLimit == nil && !u.RemoveCardLimit && u.SpendingControls == nil && u.RiskControls == nil &&
		u.Metadata == nil && u.ExpiryAt == nil && !u.RemoveExpiryAt && u.PrintedName == nil
}

// UpdateCard changes a card's controls, metadata, expiry_at or (before
// embossing) printed name, and publishes card.controls_updated with the
// card's controls after the change. Rejections: nothing_to_update,
// validation_failed, card_closed, printed_name_locked; ErrNotFound.
func (s *Service) UpdateCard(ctx context.Context, tenantID, cardID string, u CardUpdate) (Card, error) {
	if u.empty() {
		return Card{}, Errorf(SlugNothingToUpdate, "the request changes no field")
	}
	now := s.now()
	var v Validator
	if u.CardLimit != nil {
		v.Check(*u.CardLimit > 0 && *u.CardLimit <= MaxAmount, "card_limit", "out_of_range", "a positive amount of minor units up to 999999999999, or null to remove")
	}
	if u.SpendingControls != nil {
		ValidateSpendingControls(&v, "spending_controls", *u.SpendingControls)
	}
	if u.RiskControls != nil {
		ValidateRiskControls(&v, "risk_controls", *u.RiskControls)
	}
	if u.Metadata != nil {
		u.Metadata = validateMetadata(&v, u.Metadata)
	}
	validateExpiryAt(&v, u.ExpiryAt, now)
	var printed string
	if u.PrintedName != nil {
		n, err := dataprep.NormalizePrintedName(*u.PrintedName)
		v.Check(err == nil, "printed_name", "invalid", "2-26 characters, letters A-Z and spaces only (EMV 5F20)")
		printed = n
	}
	if err := v.Err(); err != nil {
		return Card{}, err
	}
	return s.d.Cards.UpdateCard(ctx, tenantID, cardID, func(ch *CardChange) error {
		c := &ch.Card
		if c.Status.Terminal() {
			return Errorf(SlugCardClosed, "card %s is %s", c.ID, c.Status)
		}
		if u.PrintedName != nil && printed != c.PrintedName {
			if c.EmbossingStatus != EmbossingPending && (c.EmbossingStatus != EmbossingNotRequired || c.Imported) {
				return Errorf(SlugPrintedNameLocked, "the printed name cannot change once the card went to the embosser (embossing_status %s)", c.EmbossingStatus)
			}
			c.PrintedName = printed
		}
		if u.ExpiryAt != nil {
			end, err := dataprep.ExpiryEnd(c.Expiry)
			if err == nil && !u.ExpiryAt.Before(end) {
				return &Error{Slug: SlugValidationFailed, Message: "the request has invalid fields",
					Fields: []FieldError{{Field: "expiry_at", Code: "invalid", Message: "must be before the end of the printed expiry month (" + dataprep.ExpiryDisplay(c.Expiry) + ")"}}}
			}
			c.ExpiryAt = utcPtr(u.ExpiryAt)
		}
		if u.RemoveExpiryAt {
			c.ExpiryAt = nil
		}
		if vu := c.ValidUntil; vu != nil && (c.ExpiryAt == nil || vu.Before(*c.ExpiryAt)) {
			c.ExpiryAt = vu // the validity still ends the card: expiry_at is what the host checks
		}
		if u.CardLimit != nil {
			c.CardLimit = u.CardLimit
		}
		if u.RemoveCardLimit {
			c.CardLimit = nil
		}
		Patch(&c.SpendingControls, u.SpendingControls)
		Patch(&c.RiskControls, u.RiskControls)
		if u.Metadata != nil {
			c.Metadata = u.Metadata
		}
		c.UpdatedAt = now
		ev, err := cardEvent(kafka.TypeCardControlsUpdated, c, "", true, now)
		if err != nil {
			return err
		}
		ch.Events = append(ch.Events, ev)
		return nil
	})
}
