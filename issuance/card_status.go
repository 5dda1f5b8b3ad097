package issuance

import (
	"context"
	"strings"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// StatusAction is an issuer's status move (POST /v1/cards/{id}/<action>).
type StatusAction string

// Status actions.
const (
	ActionFreeze   StatusAction = "freeze"
	ActionUnfreeze StatusAction = "unfreeze"
	ActionBlock    StatusAction = "block"
	ActionCancel   StatusAction = "cancel"
	// ActionActivate activates a plastic made by its embosser that waits
	// for activation (activation_required).
	ActionActivate StatusAction = "activate"
)

// statusMoves maps each action to the status it moves to, the status it
// must move from (empty: any the transition table allows) and its event.
var statusMoves = map[StatusAction]struct {
	to    Status
	from  Status
	event string
}{
	ActionFreeze:   {StatusFrozen, StatusActive, kafka.TypeCardFrozen},
	ActionUnfreeze: {StatusActive, StatusFrozen, kafka.TypeCardUnfrozen},
	ActionBlock:    {StatusBlocked, "", kafka.TypeCardBlocked},
	ActionCancel:   {StatusCanceled, "", kafka.TypeCardCanceled},
	ActionActivate: {StatusActive, StatusProvisioned, kafka.TypeCardActivated},
}

// MaxStatusReason is the longest status reason.
const MaxStatusReason = 64

// Order failure slug of cards closed before they were issued.
const slugCardClosedBeforeIssue = "card_closed_before_issue"

// ChangeStatus moves a card by an issuer action, following the transition
// table, and publishes the matching event. Blocking needs a reason (lost,
// stolen, fraud or other); cancel's reason defaults to "issuer". Canceling
// a card that waits for its embosser withdraws it from embossing and fails
// its order. Rejections: validation_failed, invalid_status_transition;
// ErrNotFound.
func (s *Service) ChangeStatus(ctx context.Context, tenantID, cardID string, action StatusAction, reason string) (Card, error) {
	move, ok := statusMoves[action]
	if !ok {
		return Card{}, Errorf(SlugValidationFailed, "unknown status action %q", action)
	}
	reason = strings.TrimSpace(reason)
	var v Validator
	switch action {
	case ActionBlock:
		v.Check(ValidBlockReason(reason), "reason", "invalid", "one of lost, stolen, fraud, other")
	case ActionCancel:
		if reason == "" {
			reason = StatusReasonIssuer
		}
	}
	v.Check(len(reason) <= MaxStatusReason && printable(reason), "reason", "invalid", "at most 64 visible characters")
	if err := v.Err(); err != nil {
		return Card{}, err
	}
	return s.d.Cards.UpdateCard(ctx, tenantID, cardID, func(ch *CardChange) error {
		c := &ch.Card
		if (move.from != "" && c.Status != move.from) || !c.Status.CanTransition(move.to) ||
			(action == ActionActivate && c.EmbossingStatus != EmbossingIssued) {
			return &Error{Slug: SlugInvalidStatusTransition, Message: "a " + string(c.Status) + " card (embossing_status " + c.EmbossingStatus + ") cannot " + string(action)}
		}
		if action == ActionActivate {
			return s.activateCard(ch, s.now())
		}
		return s.moveCard(ch, move.to, reason, move.event, s.now())
	})
}

// moveCard changes a locked card's status with its event. A card closed
// before it was issued leaves the embossing queue and fails its order.
func (s *Service) moveCard(ch *CardChange, to Status, reason, event string, now time.Time) error {
	c := &ch.Card
	prev := c.Status
	c.Status, c.StatusReason, c.UpdatedAt = to, reason, now
	ev, err := cardEvent(event, c, prev, false, now)
	if err != nil {
		return err
	}
	ch.Events = append(ch.Events, ev)
	if prev != StatusProvisioned || to == StatusActive {
		return nil
	}
	ch.Dequeue = true
	return ch.settleOrder(now, func(o *Order) {
		o.fail(o.IssueStatus, slugCardClosedBeforeIssue, "the card was "+strings.ToLower(string(to))+" before it was issued", now)
	})
}
