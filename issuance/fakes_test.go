package issuance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/bins"
)

// Function-field fakes of the Service's collaborators, for unit tests of
// the domain rules without HTTP or PostgreSQL. Each embeds its interface:
// a method whose function the test did not set panics, so a test states
// exactly which calls it expects.

type fakeCards struct {
	CardStore
	card        func(tenantID, id string) (Card, error)
	updateCard  func(tenantID, id string, fn func(*CardChange) error) (Card, error)
	createCard  func(NewCard) error
	createBatch func(b Batch, requests [][]byte, orders []Order) (Batch, bool, error)
}

func (f *fakeCards) Card(_ context.Context, tenantID, id string) (Card, error) {
	return f.card(tenantID, id)
}

func (f *fakeCards) UpdateCard(_ context.Context, tenantID, id string, fn func(*CardChange) error) (Card, error) {
	return f.updateCard(tenantID, id, fn)
}

func (f *fakeCards) CreateCard(_ context.Context, n NewCard) error { return f.createCard(n) }

func (f *fakeCards) CreateBatch(_ context.Context, b Batch, requests [][]byte, orders []Order) (Batch, bool, error) {
	return f.createBatch(b, requests, orders)
}

type fakeCatalog struct {
	CatalogStore
	product         func(id string) (Product, error)
	template        func(id string) (Template, error)
	embosser        func(id string) (Embosser, error)
	cardholder      func(id string) (Cardholder, error)
	issuerPublicKey func(ref string) ([]byte, time.Time, error)
	binRanges       func(tenantID string) ([]bins.Range, error)
	hsmKey          func(ref string) (KeyMeta, error)
}

func (f *fakeCatalog) BINRanges(_ context.Context, tenantID string) ([]bins.Range, error) {
	return f.binRanges(tenantID)
}

func (f *fakeCatalog) HSMKey(_ context.Context, ref string) (KeyMeta, error) { return f.hsmKey(ref) }

func (f *fakeCatalog) Product(_ context.Context, _, id string) (Product, error) { return f.product(id) }

func (f *fakeCatalog) Template(_ context.Context, _, id string) (Template, error) {
	return f.template(id)
}

func (f *fakeCatalog) Embosser(_ context.Context, _, id string) (Embosser, error) {
	return f.embosser(id)
}

func (f *fakeCatalog) Cardholder(_ context.Context, _, id string) (Cardholder, error) {
	return f.cardholder(id)
}

func (f *fakeCatalog) IssuerPublicKey(_ context.Context, _, ref string) ([]byte, time.Time, error) {
	return f.issuerPublicKey(ref)
}

type fakeVault struct {
	Vault
	sealPAN        func(cardID string, pan emv.PAN) ([]byte, error)
	openPAN        func(cardID string, sealed []byte) (emv.PAN, error)
	indexPAN       func(pan emv.PAN) ([]byte, error)
	generateCVVSet func(pan emv.PAN) (emv.CVVSet, error)
	setPIN         func(req emv.PINSet, c emv.PINCheck) (emv.PINVerificationData, error)
	isInputError   func(error) bool
}

func (f *fakeVault) SealPAN(_ context.Context, _, _, cardID string, pan emv.PAN) ([]byte, error) {
	return f.sealPAN(cardID, pan)
}

func (f *fakeVault) OpenPAN(_ context.Context, _, _, cardID string, sealed []byte) (emv.PAN, error) {
	return f.openPAN(cardID, sealed)
}

func (f *fakeVault) IndexPANAll(_ context.Context, _ string, pan emv.PAN) ([][]byte, error) {
	idx, err := f.indexPAN(pan)
	return [][]byte{idx}, err
}

func (f *fakeVault) GenerateCVVSet(_ context.Context, _ string, pan emv.PAN, _, _ string) (emv.CVVSet, error) {
	return f.generateCVVSet(pan)
}

func (f *fakeVault) SetPIN(_ context.Context, req emv.PINSet, c emv.PINCheck) (emv.PINVerificationData, error) {
	return f.setPIN(req, c)
}

func (f *fakeVault) IsInputError(err error) bool { return f.isInputError(err) }

// testNow is the fakes' clock.
var testNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// fakeService is a Service over the fakes, with the platform keys set.
func fakeService(cards *fakeCards, cat *fakeCatalog, vault *fakeVault) *Service {
	return NewService(Deps{Cards: cards, Catalog: cat, Vault: vault,
		Keys: SystemKeys{PANDEK: "key_dek", PANIndex: "key_idx", CA: "key_ca", ECDH: "key_ecdh"},
		Now:  func() time.Time { return testNow }})
}

// lockedCard answers UpdateCard as the store does: it runs fn on a copy of
// card (and order), both of the tenant asked for, and returns the changed
// card, or fn's error. The last change is kept in *last.
func lockedCard(card Card, order *Order, last *CardChange) func(string, string, func(*CardChange) error) (Card, error) {
	return func(tenantID, id string, fn func(*CardChange) error) (Card, error) {
		if id != card.ID {
			return Card{}, ErrNotFound
		}
		ch := CardChange{Card: card}
		ch.Card.TenantID = tenantID
		if order != nil {
			o := *order
			o.TenantID = tenantID
			ch.Order = &o
		}
		if err := fn(&ch); err != nil {
			return Card{}, err
		}
		if last != nil {
			*last = ch
		}
		return ch.Card, nil
	}
}

// wantRejection fails unless err is a rejection with slug (and, when field
// is set, names field); slug "" wants no error.
func wantRejection(t *testing.T, err error, slug, field string) {
	t.Helper()
	if slug == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Slug != slug {
		t.Fatalf("error %v, want slug %s", err, slug)
	}
	if field == "" {
		return
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("error %v names fields %+v, want %s", err, e.Fields, field)
}
