package console

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/kafka"
)

// cardsPage is the card search and its results.
type cardsPage struct {
	Query   cardQuery
	Cards   []cardRow
	More    bool
	Next    string // the query of the next page
	Errors  []issuance.FieldError
	Statuss []issuance.Status
}

type cardQuery struct {
	Last4, ReferenceID, Status, CardholderID string
}

type cardRow struct {
	issuance.Card
	Masked string
}

// ErrorsFor returns the search's errors on field name.
func (p cardsPage) ErrorsFor(name string) []issuance.FieldError { return fieldErrors(p.Errors, name) }

var statuses = []issuance.Status{issuance.StatusProvisioned, issuance.StatusActive, issuance.StatusFrozen, issuance.StatusBlocked, issuance.StatusCanceled, issuance.StatusExpired, issuance.StatusInoperative}

// cards lists and searches the tenant's cards (GET /console/cards): by
// last four digits, reference id, status and cardholder, through the
// same service call and validation as GET /v1/cards.
func (co *Console) cards(c *fiber.Ctx) error {
	s := sessionOf(c)
	q := cardQuery{Last4: strings.TrimSpace(c.Query("last4")), ReferenceID: strings.TrimSpace(c.Query("reference_id")),
		Status: strings.TrimSpace(c.Query("status")), CardholderID: strings.TrimSpace(c.Query("cardholder_id"))}
	p := cardsPage{Query: q, Statuss: statuses}
	f := issuance.CardFilter{PageRequest: issuance.PageRequest{Limit: 50, StartingAfter: c.Query("starting_after")},
		Last4: q.Last4, ReferenceID: q.ReferenceID, Status: issuance.Status(q.Status), CardholderID: q.CardholderID}
	cards, more, err := co.deps.Service.Cards(c.UserContext(), s.Tenant.ID, f)
	if err != nil {
		if p.Errors = fieldsOf(err); p.Errors == nil {
			return co.fail(c, err)
		}
		return co.render(c, co.deps.API.StatusOf(err), "cards", p)
	}
	for i := range cards {
		p.Cards = append(p.Cards, cardRow{Card: cards[i], Masked: cards[i].MaskedPAN()})
	}
	if p.More = more; more && len(cards) > 0 {
		v := url.Values{}
		for k, val := range map[string]string{"last4": q.Last4, "reference_id": q.ReferenceID, "status": q.Status, "cardholder_id": q.CardholderID} {
			if val != "" {
				v.Set(k, val)
			}
		}
		v.Set("starting_after", cards[len(cards)-1].ID)
		p.Next = v.Encode()
	}
	return co.render(c, fiber.StatusOK, "cards", p)
}

// cardPage is a card's page: its data, actions, controls editor,
// authorizations and audit trail.
type cardPage struct {
	Card       issuance.Card
	Masked     string
	Expiry     string
	Cardholder *issuance.Cardholder
	Product    *issuance.Product
	Actions    []issuance.StatusAction
	CanReveal  bool
	Done       string // what the last action did
	Error      string // why the last action was refused
	Form       controlsForm
	Spend      *host.Card
	Balance    *ledger.CardBalance // a funded card's (SHARED, PREPAID)
	Now        time.Time           // when the spend is read (its windows)
	Timeline   []timelineEntry
	MoreAuths  bool
	Audit      []issuance.AuditEntry
	Events     []kafka.Event
	MoreEvents bool

	// Failed is the status action that was refused and StatusErrors its
	// field errors (the block reason), shown in that action's form.
	Failed       string
	StatusErrors []issuance.FieldError
}

// timelineEntry is a record and the captures and reversals that apply to
// it (those in the same page).
type timelineEntry struct {
	*host.Authorization
	Then []*host.Authorization
}

// actionsFor are the status moves a card's status allows (the domain's
// transition table decides; these are the buttons).
func actionsFor(s issuance.Status) []issuance.StatusAction {
	switch s {
	case issuance.StatusActive:
		return []issuance.StatusAction{issuance.ActionFreeze, issuance.ActionBlock, issuance.ActionCancel}
	case issuance.StatusFrozen:
		return []issuance.StatusAction{issuance.ActionUnfreeze, issuance.ActionBlock, issuance.ActionCancel}
	case issuance.StatusProvisioned:
		return []issuance.StatusAction{issuance.ActionCancel}
	}
	return nil
}

// doneMessages are the notices after a successful action (by name, so
// that nothing from the URL is echoed).
var doneMessages = map[string]string{
	"freeze": "The card is frozen.", "unfreeze": "The card is active again.", "block": "The card is blocked.",
	"cancel": "The card is canceled.", "controls": "The controls are saved.",
}

func (co *Console) card(c *fiber.Ctx) error {
	p, err := co.loadCard(c, c.Params("id"))
	if err != nil {
		return co.fail(c, err)
	}
	p.Done = doneMessages[c.Query("done")]
	p.Form = formOfCard(p.Card.Controls())
	return co.render(c, fiber.StatusOK, "card", p)
}

// loadCard reads everything the card page shows; another tenant's card
// is issuance.ErrNotFound, as in the API.
func (co *Console) loadCard(c *fiber.Ctx, id string) (*cardPage, error) {
	s := sessionOf(c)
	ctx := c.UserContext()
	card, err := co.deps.Service.Card(ctx, s.Tenant.ID, id)
	if err != nil {
		return nil, err
	}
	p := &cardPage{Card: card, Masked: card.MaskedPAN(), Actions: actionsFor(card.Status), CanReveal: co.canReveal(s), Now: co.deps.Now()}
	if len(card.Expiry) == 4 {
		p.Expiry = card.Expiry[2:] + "/" + card.Expiry[:2]
	}
	if card.CardholderID != "" {
		if ch, err := co.deps.Catalog.Cardholder(ctx, s.Tenant.ID, card.CardholderID); err == nil {
			p.Cardholder = &ch
		} else if !errors.Is(err, issuance.ErrNotFound) {
			return nil, err
		}
	}
	if pr, err := co.deps.Catalog.Product(ctx, s.Tenant.ID, card.ProductID); err == nil {
		p.Product = &pr
	} else if !errors.Is(err, issuance.ErrNotFound) {
		return nil, err
	}
	if p.Spend, err = co.deps.Records.TenantCard(ctx, s.Tenant.ID, id); err != nil {
		return nil, err
	}
	if co.deps.Money != nil && ledger.Funded(card.FundingMode) {
		b, err := co.deps.Money.CardBalance(ctx, s.Tenant.ID, id)
		if err != nil {
			return nil, err
		}
		p.Balance = &b
	}
	auths, more, err := co.deps.Records.CardAuthorizations(ctx, s.Tenant.ID, id, issuance.PageRequest{Limit: 50})
	if err != nil {
		return nil, err
	}
	p.Timeline, p.MoreAuths = timeline(auths), more
	if p.Audit, err = co.deps.Service.CardAuditTrail(ctx, s.Tenant.ID, id); err != nil {
		return nil, err
	}
	if p.Events, p.MoreEvents, err = co.deps.Webhooks.Events(ctx, s.Tenant.ID, webhook.EventFilter{PageRequest: issuance.PageRequest{Limit: 20}, CardID: id}); err != nil {
		return nil, err
	}
	return p, nil
}

// timeline puts each capture and reversal under the record it applies to,
// when that record is in the list; records stay newest first.
func timeline(auths []*host.Authorization) []timelineEntry {
	at := map[string]int{}
	var out []timelineEntry
	for _, a := range auths {
		if a.OriginalID == "" {
			at[a.ID] = len(out)
			out = append(out, timelineEntry{Authorization: a})
		}
	}
	for _, a := range auths {
		if a.OriginalID == "" {
			continue
		}
		if i, ok := at[a.OriginalID]; ok {
			out[i].Then = append([]*host.Authorization{a}, out[i].Then...) // oldest first
			continue
		}
		out = append(out, timelineEntry{Authorization: a})
	}
	// Keep newest first by the record's id (ids sort by time).
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID > out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// cardFailed renders the card page again with the refusal: for the
// controls editor (form not nil), the form as sent with its field errors;
// for a status action, its field errors in that action's form.
func (co *Console) cardFailed(c *fiber.Ctx, id string, err error, form *controlsForm, action issuance.StatusAction) error {
	status := co.deps.API.StatusOf(err)
	var ie *issuance.Error
	if status >= 500 || (!errors.As(err, &ie) && !errors.Is(err, issuance.ErrNotFound)) {
		return co.fail(c, err)
	}
	p, lerr := co.loadCard(c, id)
	if lerr != nil {
		return co.fail(c, lerr)
	}
	if ie != nil {
		p.Error = ie.Message
	}
	if form != nil {
		p.Form = *form
		p.Form.Errors = append(p.Form.Errors, fieldsOf(err)...)
	} else {
		p.Form = formOfCard(p.Card.Controls())
		p.Failed, p.StatusErrors = string(action), fieldsOf(err)
	}
	return co.render(c, status, "card", p)
}

// cardStatus freezes, unfreezes, blocks or cancels a card through the
// service call of POST /v1/cards/{id}/{action}.
func (co *Console) cardStatus(c *fiber.Ctx) error {
	s := sessionOf(c)
	id, action := c.Params("id"), issuance.StatusAction(c.Params("action"))
	switch action {
	case issuance.ActionFreeze, issuance.ActionUnfreeze, issuance.ActionBlock, issuance.ActionCancel:
	default:
		return co.fail(c, issuance.ErrNotFound)
	}
	if _, err := co.deps.Service.ChangeStatus(c.UserContext(), s.Tenant.ID, id, action, c.FormValue("reason")); err != nil {
		if errors.Is(err, issuance.ErrNotFound) {
			return co.fail(c, err)
		}
		return co.cardFailed(c, id, err, nil, action)
	}
	return c.Redirect(Prefix+"/cards/"+url.PathEscape(id)+"?done="+string(action), fiber.StatusSeeOther)
}

// cardControls saves the controls editor through the service call of
// PATCH /v1/cards/{id}.
func (co *Console) cardControls(c *fiber.Ctx) error {
	s := sessionOf(c)
	id := c.Params("id")
	u, form := parseControls(c)
	if form.Errors != nil {
		err := &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields", Fields: form.Errors}
		form.Errors = nil
		return co.cardFailed(c, id, err, &form, "")
	}
	if _, err := co.deps.Service.UpdateCard(c.UserContext(), s.Tenant.ID, id, u); err != nil {
		if errors.Is(err, issuance.ErrNotFound) {
			return co.fail(c, err)
		}
		return co.cardFailed(c, id, err, &form, "")
	}
	return c.Redirect(Prefix+"/cards/"+url.PathEscape(id)+"?done=controls", fiber.StatusSeeOther)
}

// revealPage is the answer to a reveal: the only page with a full number.
type revealPage struct {
	CardID, PAN, CVV2, Expiry string
}

// cardReveal shows the card's number, CVV2 and expiry through the service
// call of POST /v1/cards/{id}/reveal: the reveal scope (outside sandbox)
// and the audit entry are the domain's.
func (co *Console) cardReveal(c *fiber.Ctx) error {
	s := sessionOf(c)
	id := c.Params("id")
	r, err := co.deps.Service.RevealCard(c.UserContext(), co.actor(c, s), s.Tenant.ID, id)
	if err != nil {
		return co.fail(c, err)
	}
	pan := r.PAN.Reveal()
	var groups []string
	for i := 0; i < len(pan); i += 4 {
		groups = append(groups, pan[i:min(i+4, len(pan))])
	}
	exp := r.Expiry
	if len(exp) == 4 {
		exp = exp[2:] + "/" + exp[:2]
	}
	return co.render(c, fiber.StatusOK, "reveal", revealPage{CardID: id, PAN: strings.Join(groups, " "), CVV2: r.CVV2.Reveal(), Expiry: exp})
}

// authorizationPage is one record with the records of its timeline.
type authorizationPage struct {
	*host.Authorization
	Original *host.Authorization
	Related  []*host.Authorization
	Masked   string
}

// authorization shows one record, its original (for a capture or
// reversal) and what applied to it (captures, reversals).
func (co *Console) authorization(c *fiber.Ctx) error {
	s := sessionOf(c)
	ctx := c.UserContext()
	id := c.Params("id")
	if !issuance.ValidID(issuance.AuthorizationIDPrefix, id) {
		return co.fail(c, issuance.ErrNotFound)
	}
	a, err := co.deps.Records.TenantAuthorization(ctx, s.Tenant.ID, id)
	if err != nil {
		return co.fail(c, err)
	}
	p := authorizationPage{Authorization: a}
	if card, err := co.deps.Service.Card(ctx, s.Tenant.ID, a.CardID); err == nil {
		p.Masked = card.MaskedPAN()
	}
	if a.OriginalID != "" {
		if o, err := co.deps.Records.TenantAuthorization(ctx, s.Tenant.ID, a.OriginalID); err == nil {
			p.Original = o
		}
	}
	auths, _, err := co.deps.Records.CardAuthorizations(ctx, s.Tenant.ID, a.CardID, issuance.PageRequest{Limit: 100})
	if err != nil {
		return co.fail(c, err)
	}
	for _, r := range auths {
		if r.OriginalID == a.ID {
			p.Related = append(p.Related, r)
		}
	}
	return co.render(c, fiber.StatusOK, "authorization", p)
}
