package issuance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// Embossing: plastics wait in a queue until the embossing worker seals
// their personalisation record under the embosser's transport key and
// hands it to the embosser adapter. When the embosser reports back at once
// (the loopback embosser without manual_issue) the card becomes ACTIVE;
// with manual_issue it stays PROVISIONED with embossing_status SENT until
// the sandbox simulator's issue or fail call. A failed card stays
// PROVISIONED with embossing_status FAILED and its order fails
// (order.failed); the issuer may cancel it.

// EmbosserAdapter delivers sealed personalisation records to an embosser.
// Send must be idempotent: a job retried after a crash delivers the same
// card again.
type EmbosserAdapter interface {
	Send(ctx context.Context, e Embosser, job EmbossJob, rec SealedRecord) error
}

// Embossing retry policy: attempts before the card fails, and the first
// retry delay (doubling, at most an hour).
const (
	MaxEmbossAttempts = 5
	embossRetryBase   = 30 * time.Second
	embossRetryMax    = time.Hour
)

// EmbossNext sends the oldest due card to its embosser and reports whether
// there was one. Safe to run on several instances at once: each job is
// taken by one worker (the store skips locked jobs).
func (s *Service) EmbossNext(ctx context.Context, adapter EmbosserAdapter) (bool, error) {
	return s.d.Cards.NextEmbossing(ctx, s.now(), func(job EmbossJob, ch *CardChange) error {
		c := &ch.Card
		ch.Dequeue = true
		if c.Status != StatusProvisioned || c.EmbossingStatus != EmbossingPending {
			ch.Skip = true // closed or settled meanwhile: just drop the job
			return nil
		}
		now := s.now()
		e, err := s.d.Catalog.Embosser(ctx, c.TenantID, job.EmbosserID)
		if errors.Is(err, ErrNotFound) {
			return s.failEmbossing(ch, "the card's embosser does not exist", now)
		}
		if err != nil {
			return fmt.Errorf("reading embosser: %w", err)
		}
		rec, err := s.sealPerso(ctx, c, e.KEKRef, false)
		if err == nil {
			err = adapter.Send(ctx, e, job, rec)
		}
		if err != nil {
			s.d.Logger.Error("embossing attempt failed", "tenant_id", c.TenantID, "card_id", c.ID, "embosser_id", e.ID, "attempt", job.Attempts+1, "err", err)
			if job.Attempts+1 >= MaxEmbossAttempts {
				return s.failEmbossing(ch, fmt.Sprintf("the embosser could not take the card after %d attempts", MaxEmbossAttempts), now)
			}
			ch.Dequeue, ch.Skip = false, true
			ch.Retry = &EmbossRetry{At: now.Add(embossBackoff(job.Attempts)), LastError: err.Error()}
			return nil
		}
		c.EmbossingStatus, c.CVKVersion, c.UpdatedAt = EmbossingSent, rec.CVKVersion, now
		s.d.Logger.Info("card sent to embosser", "tenant_id", c.TenantID, "card_id", c.ID, "embosser_id", e.ID, "manual_issue", e.ManualIssue)
		if e.ManualIssue {
			return nil
		}
		return s.issueCard(ch, now)
	})
}

func embossBackoff(attempts int) time.Duration {
	d := embossRetryBase << min(attempts, 10)
	return min(d, embossRetryMax)
}

// issueCard activates a locked card whose plastic was made and completes
// its order; a card that requires activation waits for it (its order
// processing, issue_status activating).
func (s *Service) issueCard(ch *CardChange, now time.Time) error {
	ch.Card.EmbossingStatus = EmbossingIssued
	if ch.Card.ActivationRequired {
		ch.Card.UpdatedAt = now
		if o := ch.Order; o != nil && !o.Status.Final() {
			o.IssueStatus, o.UpdatedAt, ch.OrderChanged = IssueActivating, now, true
		}
		return nil
	}
	return s.activateCard(ch, now)
}

// activateCard activates a locked PROVISIONED card and completes its order.
func (s *Service) activateCard(ch *CardChange, now time.Time) error {
	if err := s.moveCard(ch, StatusActive, "", kafka.TypeCardActivated, now); err != nil {
		return err
	}
	return ch.settleOrder(now, func(o *Order) { o.complete(IssueIssued, now) })
}

// failEmbossing marks a locked card's embossing failed and fails its order.
func (s *Service) failEmbossing(ch *CardChange, msg string, now time.Time) error {
	ch.Card.EmbossingStatus, ch.Card.UpdatedAt = EmbossingFailed, now
	ch.Dequeue, ch.Skip = true, false
	return ch.settleOrder(now, func(o *Order) { o.fail(IssueEmbossingFailed, SlugEmbossingFailed, msg, now) })
}

// settleOrder settles the change's order with settle, unless it has none
// or it is settled already, and adds the order's event.
func (ch *CardChange) settleOrder(now time.Time, settle func(*Order)) error {
	o := ch.Order
	if o == nil || o.Status.Final() {
		return nil
	}
	settle(o)
	ch.OrderChanged = true
	ev, err := orderEvent(o, now)
	if err != nil {
		return err
	}
	ch.Events = append(ch.Events, ev)
	return nil
}

// SimulateEmbossing is the sandbox embosser's answer for a card waiting for
// it (PATCH /v1/simulator/cards/{id}/issue or /fail): issue activates the
// card and completes its order; fail marks embossing FAILED and fails the
// order. A card still PENDING is withdrawn from the queue first. A card
// with no plastic was issued at creation (OffBlocks' walk still calls
// issue): issue answers it unchanged, fail with embossing_not_required.
// Rejections: sandbox_only, invalid_embossing_status,
// embossing_not_required; ErrNotFound.
func (s *Service) SimulateEmbossing(ctx context.Context, a Actor, tenantID, cardID string, issue bool) (Card, error) {
	if !a.Sandbox {
		return Card{}, Errorf(SlugSandboxOnly, "the simulator exists only in sandbox mode")
	}
	return s.d.Cards.UpdateCard(ctx, tenantID, cardID, func(ch *CardChange) error {
		c := &ch.Card
		if c.EmbossingStatus == EmbossingNotRequired && c.Status != StatusProvisioned {
			ch.Skip = true
			if issue {
				return nil
			}
			return Errorf(SlugEmbossingNotRequired, "card %s has no plastic: it was issued when it was created (status %s)", c.ID, c.Status)
		}
		if c.Status != StatusProvisioned || (c.EmbossingStatus != EmbossingPending && c.EmbossingStatus != EmbossingSent) {
			return Errorf(SlugInvalidEmbossingStatus, "card %s is not waiting for its embosser (status %s, embossing_status %s)", c.ID, c.Status, c.EmbossingStatus)
		}
		now := s.now()
		ch.Dequeue = true
		if issue {
			return s.issueCard(ch, now)
		}
		return s.failEmbossing(ch, "the embosser failed the card (simulator)", now)
	})
}
