package reissue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/issuance/lifecycle"
	"github.com/cardhost/cardhost/kafka"
)

// Request is the body of POST /v1/cards/{id}/reissue.
type Request struct {
	KeepPAN        bool   `json:"keep_pan,omitempty" doc:"true: the new card keeps the PAN with a new expiry and the next PAN sequence number (renewal; the PIN carries over); false (default): a new PAN (replacement; the new card has no PIN until one is set)"`
	ExpirationDate string `json:"expiration_date,omitempty" example:"3012" doc:"printed expiry YYMM of the new card, within the product's validity (default: the product's validity_months from now)"`
}

// Slugs of reissue rejections.
const (
	// SlugAlreadyReissued: the card was reissued already (its
	// replaced_by names the new card).
	SlugAlreadyReissued = "card_already_reissued"
	// SlugNotReissuable: a card not yet issued (PROVISIONED) or canceled
	// by the issuer cannot be reissued.
	SlugNotReissuable = "card_not_reissuable"
)

// maxDraws bounds the PAN draws of a replacement, as card creation does.
const maxDraws = 8

// Store writes a reissue in one transaction (issuance/postgres): it locks
// the card tenantID/id, lets decide build the old card's change and the
// new card, writes both (the old card's PAN index released when keepPAN),
// moves a PREPAID balance, and returns the new card. Errors: decide's,
// issuance.ErrPANTaken, issuance.ErrNotFound.
type Store interface {
	Reissue(ctx context.Context, tenantID, id string, keepPAN bool, decide func(*issuance.CardChange) (issuance.NewCard, error)) (issuance.Card, error)
}

// Service reissues cards. It holds no state of its own and is safe for
// concurrent use.
type Service struct {
	cards *issuance.Service
	d     issuance.Deps
	store Store
}

// New returns a Service over the card domain (its data prep), its
// collaborators (d.Cards, d.Catalog, d.Now, d.Logger) and store.
func New(cards *issuance.Service, d issuance.Deps, store Store) *Service {
	return &Service{cards: cards, d: d.WithDefaults(), store: store}
}

// Reissue reissues card cardID of tenantID and returns the new card.
// Rejections: validation_failed (expiration_date, keep_pan on a card
// blocked as lost, stolen or fraud, or on an imported card without a data
// prep template when a new PAN is asked), card_already_reissued,
// card_not_reissuable; ErrNotFound.
func (s *Service) Reissue(ctx context.Context, tenantID, cardID string, r Request) (issuance.Card, error) {
	if !issuance.ValidID(issuance.CardIDPrefix, cardID) {
		return issuance.Card{}, issuance.ErrNotFound
	}
	var v issuance.Validator
	v.Check(r.ExpirationDate == "" || dataprep.ValidExpiry(r.ExpirationDate), "expiration_date", "invalid", "a YYMM month, e.g. 3012")
	if err := v.Err(); err != nil {
		return issuance.Card{}, err
	}
	old, err := s.d.Cards.Card(ctx, tenantID, cardID)
	if err != nil {
		return issuance.Card{}, err
	}
	now := s.d.UTCNow()
	expiry, iin, err := s.plan(ctx, &old, r, now)
	if err != nil {
		return issuance.Card{}, err
	}
	var pan emv.PAN
	if r.KeepPAN {
		if pan, err = s.cards.OpenPAN(ctx, &old); err != nil {
			return issuance.Card{}, err
		}
	}
	for draw := 1; ; draw++ {
		if !r.KeepPAN {
			if pan, err = dataprep.GeneratePAN(iin, old.PANLength, nil); err != nil {
				return issuance.Card{}, fmt.Errorf("generating PAN: %w", err)
			}
		}
		c, err := s.store.Reissue(ctx, tenantID, cardID, r.KeepPAN, func(ch *issuance.CardChange) (issuance.NewCard, error) {
			return s.decide(ctx, ch, r, pan, expiry, now)
		})
		switch {
		case err == nil:
			s.d.Logger.Info("card reissued", "tenant_id", tenantID, "card_id", cardID, "new_card_id", c.ID, "keep_pan", r.KeepPAN)
			return c, nil
		case errors.Is(err, issuance.ErrPANTaken) && !r.KeepPAN && draw < maxDraws:
			continue
		default:
			return issuance.Card{}, err
		}
	}
}

// plan reads what the new card needs outside the card's lock: its printed
// expiry (the product's validity or expiration_date within it) and, for a
// new PAN, the IIN of the old card's data prep template.
func (s *Service) plan(ctx context.Context, old *issuance.Card, r Request, now time.Time) (expiry, iin string, err error) {
	months := issuance.DefaultValidityMonths
	if p, err := s.d.Catalog.Product(ctx, old.TenantID, old.ProductID); err == nil && p.ValidityMonths > 0 {
		months = p.ValidityMonths
	} else if err != nil && !errors.Is(err, issuance.ErrNotFound) {
		return "", "", fmt.Errorf("reading product: %w", err)
	}
	lo, hi, err := lifecycle.ExpirationBounds(now, months)
	if err != nil {
		return "", "", fmt.Errorf("computing expiry: %w", err)
	}
	expiry = hi
	var v issuance.Validator
	if r.ExpirationDate != "" {
		v.Check(lifecycle.ExpirationInBounds(r.ExpirationDate, lo, hi), "expiration_date", "out_of_range", "from "+lo+" to "+hi+" (the product's validity_months)")
		expiry = r.ExpirationDate
	}
	if !r.KeepPAN {
		tpl, err := s.d.Catalog.Template(ctx, old.TenantID, old.TemplateID)
		switch {
		case old.TemplateID == "" || errors.Is(err, issuance.ErrNotFound):
			v.Add("keep_pan", "required", "the card has no data prep template to draw a new PAN from: reissue it with keep_pan")
		case err != nil:
			return "", "", fmt.Errorf("reading data prep template: %w", err)
		default:
			iin = tpl.IIN
		}
	}
	if old.Type == issuance.CardPlastic && old.EmbosserID == "" {
		v.Add("type", "not_supported", "the PLASTIC card has no embosser to make its successor")
	}
	return expiry, iin, v.Err()
}

// decide checks the locked old card, closes it and builds the new card.
func (s *Service) decide(ctx context.Context, ch *issuance.CardChange, r Request, pan emv.PAN, expiry string, now time.Time) (issuance.NewCard, error) {
	old := &ch.Card
	switch {
	case old.ReplacedBy != "":
		return issuance.NewCard{}, issuance.Errorf(SlugAlreadyReissued, "card %s was reissued already (replaced_by %s)", old.ID, old.ReplacedBy)
	case old.Status == issuance.StatusProvisioned || old.Status == issuance.StatusCanceled:
		return issuance.NewCard{}, issuance.Errorf(SlugNotReissuable, "a %s card cannot be reissued", old.Status)
	case r.KeepPAN && old.Status == issuance.StatusBlocked && old.StatusReason != issuance.BlockReasonOther:
		return issuance.NewCard{}, &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []issuance.FieldError{{Field: "keep_pan", Code: "not_allowed", Message: "a card blocked as " + old.StatusReason + " gets a new PAN"}}}
	}
	c := successor(old, r.KeepPAN, expiry, now)
	if err := s.cards.PrepareCardData(ctx, &c, pan, now); err != nil {
		return issuance.NewCard{}, err
	}
	n, err := s.cards.NewCardWrite(c, now)
	if err != nil {
		return issuance.NewCard{}, err
	}
	n.Order.Type = issuance.OrderCardReissue
	prev := old.Status
	if old.Status.CanTransition(issuance.StatusCanceled) {
		old.Status, old.StatusReason = issuance.StatusCanceled, lifecycle.ReasonReissued
	}
	old.ReplacedBy, old.UpdatedAt = n.Card.ID, now
	for _, e := range []struct {
		typ  string
		card *issuance.Card
		prev issuance.Status
		skip bool
	}{
		{kafka.TypeCardCanceled, old, prev, prev == old.Status},
		{kafka.TypeCardReissued, old, old.Status, false},
		{kafka.TypeCardReissued, &n.Card, n.Card.Status, false},
	} {
		if e.skip {
			continue
		}
		ev, err := issuance.CardEvent(e.typ, e.card, e.prev, e.card.StatusReason, false, now)
		if err != nil {
			return issuance.NewCard{}, err
		}
		if e.card == old {
			ch.Events = append(ch.Events, ev)
		} else {
			n.Events = append(n.Events, ev)
		}
	}
	return n, nil
}

// successor is the new card of a reissue before its card data: the old
// card's settings with a new printed expiry, status and lifecycle.
func successor(old *issuance.Card, keepPAN bool, expiry string, now time.Time) issuance.Card {
	c := *old
	c.ReferenceID, c.Status, c.StatusReason, c.Expiry, c.Imported = "", issuance.StatusProvisioned, "", expiry, false
	c.CreatedAt, c.UpdatedAt, c.Version, c.PANIndexOlder = now, now, 1, nil
	c.EmbossingStatus = issuance.EmbossingNotRequired
	if c.Type == issuance.CardPlastic {
		c.EmbossingStatus = issuance.EmbossingPending
	}
	if keepPAN {
		c.PSN = fmt.Sprintf("%02d", (psn(old.PSN)+1)%100)
	} else {
		c.PSN, c.PINMethod, c.PINVerify = "00", "", "" // the PIN's verification data is the old PAN's
	}
	f := lifecycle.Fields{CVVRotationHours: old.CVVRotationHours, Dynamic: old.Dynamic,
		EmbossingCustomField: old.EmbossingCustomField, ActivationRequired: old.ActivationRequired, Replaces: old.ID, Nickname: old.Nickname}
	f.ValidityPeriodHours, f.ValidUntil = lifecycle.Validity(string(c.Type), old.ValidityPeriodHours, now)
	c.Fields, c.ExpiryAt = f, f.ValidUntil
	return c
}

func psn(s string) int {
	n := 0
	for _, d := range s {
		if d >= '0' && d <= '9' {
			n = n*10 + int(d-'0')
		}
	}
	return n
}
