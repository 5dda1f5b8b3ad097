package issuance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// Function-field fakes for the card creation unit tests. Each embeds its
// interface, so a method the test does not expect panics.

type fakeCatalog struct {
	CatalogStore
	product  Product
	template Template
}

func (f *fakeCatalog) Product(_ context.Context, _, id string) (Product, error) {
	if id != f.product.ID {
		return Product{}, ErrNotFound
	}
	return f.product, nil
}

func (f *fakeCatalog) Template(context.Context, string, string) (Template, error) {
	return f.template, nil
}

func (f *fakeCatalog) Embosser(_ context.Context, _, id string) (Embosser, error) {
	return Embosser{ID: id, KEKRef: "key_kek"}, nil
}

type fakeVault struct {
	Vault
	sealed map[string]string // card id -> PAN
}

func (f *fakeVault) SealPAN(_ context.Context, _, _, cardID string, pan emv.PAN) ([]byte, error) {
	f.sealed[cardID] = pan.Reveal()
	return []byte("sealed:" + cardID), nil
}

func (f *fakeVault) IndexPAN(_ context.Context, _ string, pan emv.PAN) ([]byte, error) {
	return []byte("idx:" + pan.Reveal()), nil
}

func (f *fakeVault) GenerateCVVSet(context.Context, string, emv.PAN, string, string) (emv.CVVSet, error) {
	return emv.CVVSet{CVV: "111", ICVV: "222", CVV2: "333", KeyVersion: 2}, nil
}

type fakeCards struct {
	CardStore
	collisions int // CreateCard answers ErrPANTaken this many times first
	created    []NewCard
	calls      int
}

func (f *fakeCards) CreateCard(_ context.Context, n NewCard) error {
	f.calls++
	if f.calls <= f.collisions {
		return ErrPANTaken
	}
	f.created = append(f.created, n)
	return nil
}

func newFakeService(collisions int) (*Service, *fakeCards, *fakeVault) {
	cards := &fakeCards{collisions: collisions}
	vault := &fakeVault{sealed: map[string]string{}}
	cat := &fakeCatalog{
		product:  Product{ID: "prd_1", TemplateID: "tpl_1", DefaultEmbosserID: "emb_1", Currency: "USD", CardType: CardVirtual, Status: ProductActive, ValidityMonths: 24},
		template: Template{ID: "tpl_1", Network: NetworkVisa, IIN: "40000018", PANLength: 16, CVN: 10, ServiceCode: "201", IMKACRef: "key_imk", CVKRef: "key_cvk", PVKRef: "key_pvk", PINMethod: PINMethodPVV, PVKI: "1"},
	}
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	svc := NewService(Deps{Catalog: cat, Cards: cards, Vault: vault, Keys: SystemKeys{PANDEK: "key_dek", PANIndex: "key_idx"}, Now: func() time.Time { return now }})
	return svc, cards, vault
}

func TestCreateCardDrawsAgainOnPANCollision(t *testing.T) {
	for _, tc := range []struct {
		name       string
		collisions int
		wantErr    bool
	}{
		{"no collision", 0, false},
		{"two collisions", 2, false},
		{"every draw collides", maxPANDraws, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, cards, vault := newFakeService(tc.collisions)
			c, o, err := svc.CreateCard(context.Background(), "ten_1", CardRequest{ProductID: "prd_1", CardHolderName: "ana souza"})
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrPANTaken) || cards.calls != maxPANDraws {
					t.Fatalf("err %v after %d draws, want ErrPANTaken after %d", err, cards.calls, maxPANDraws)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cards.calls != tc.collisions+1 || len(cards.created) != 1 || len(vault.sealed) != tc.collisions+1 {
				t.Fatalf("%d store calls, %d cards, %d seals", cards.calls, len(cards.created), len(vault.sealed))
			}
			// Each draw is a new card id with its own PAN, sealed to it.
			pan := vault.sealed[c.ID]
			if string(c.PANCipher) != "sealed:"+c.ID || string(c.PANIndex) != "idx:"+pan || c.BIN != pan[:6] || c.Last4 != pan[12:] ||
				!strings.HasPrefix(pan, "40000018") || c.Expiry != "2806" || c.CVKVersion != 2 || c.PrintedName != "ANA SOUZA" ||
				c.Status != StatusActive || o.Status != OrderCompleted || o.CardID != c.ID {
				t.Fatalf("card %+v order %+v", c, o)
			}
			seen := map[string]bool{}
			for _, p := range vault.sealed {
				seen[p] = true
			}
			if len(seen) != len(vault.sealed) {
				t.Fatal("a draw reused a PAN")
			}
		})
	}
}

func TestCardholderNotReady(t *testing.T) {
	full := Cardholder{FirstName: "A", LastName: "B", Email: "a@b.c", Phone: "+1", BirthDate: "1990-01-01", Nationality: "BR", Address: &Address{}, KYCStatus: KYCVerified}
	for _, tc := range []struct {
		name    string
		holder  Cardholder
		product Product
		want    string
	}{
		{"ready", full, Product{RequireKYC: true, RequiredCardholderFields: []string{"email", "phone", "birth_date", "address", "nationality"}}, ""},
		{"KYC pending", Cardholder{KYCStatus: KYCPending}, Product{RequireKYC: true}, "KYC is not verified"},
		{"KYC pending, not required", Cardholder{KYCStatus: KYCPending}, Product{}, ""},
		{"KYC rejected is never ready", Cardholder{KYCStatus: KYCRejected}, Product{}, "KYC was rejected"},
		{"missing fields are named", Cardholder{KYCStatus: KYCVerified, Email: "x@y.z"}, Product{RequiredCardholderFields: []string{"email", "phone", "address"}}, "missing phone, address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cardholderNotReady(&tc.holder, &tc.product); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}
