package issuance

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
)

// cardWorld is the catalog, store and HSM card creation sees in these
// tests: one active virtual Visa product and its template; CreateCard
// answers ErrPANTaken collisions times before it stores.
type cardWorld struct {
	product    Product
	template   Template
	holders    map[string]Cardholder
	collisions int
	calls      int
	created    []NewCard
	sealed     map[string]string // card id -> PAN
}

func newCardWorld(collisions int) *cardWorld {
	return &cardWorld{
		product:    Product{ID: "prd_1", TemplateID: "tpl_1", DefaultEmbosserID: "emb_1", Currency: "USD", CardType: CardVirtual, Status: ProductActive, ValidityMonths: 24},
		template:   Template{ID: "tpl_1", Network: NetworkVisa, IIN: "40000018", PANLength: 16, CVN: 10, ServiceCode: "201", IMKACRef: "key_imk", CVKRef: "key_cvk", PVKRef: "key_pvk", PINMethod: PINMethodPVV, PVKI: "1"},
		holders:    map[string]Cardholder{},
		collisions: collisions,
		sealed:     map[string]string{},
	}
}

// service is a Service over the world's fakes.
func (w *cardWorld) service() *Service {
	cards := &fakeCards{createCard: func(n NewCard) error {
		w.calls++
		if w.calls <= w.collisions {
			return ErrPANTaken
		}
		w.created = append(w.created, n)
		return nil
	}}
	cat := &fakeCatalog{
		product: func(id string) (Product, error) {
			if id != w.product.ID {
				return Product{}, ErrNotFound
			}
			return w.product, nil
		},
		template: func(string) (Template, error) { return w.template, nil },
		embosser: func(id string) (Embosser, error) { return Embosser{ID: id, KEKRef: "key_kek"}, nil },
		cardholder: func(id string) (Cardholder, error) {
			if h, ok := w.holders[id]; ok {
				return h, nil
			}
			return Cardholder{}, ErrNotFound
		},
	}
	vault := &fakeVault{
		sealPAN: func(cardID string, pan emv.PAN) ([]byte, error) {
			w.sealed[cardID] = pan.Reveal()
			return []byte("sealed:" + cardID), nil
		},
		indexPAN: func(pan emv.PAN) ([]byte, error) { return []byte("idx:" + pan.Reveal()), nil },
		generateCVVSet: func(emv.PAN) (emv.CVVSet, error) {
			return emv.CVVSet{CVV: "111", ICVV: "222", CVV2: "333", KeyVersion: 2}, nil
		},
	}
	return fakeService(cards, cat, vault)
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
			w := newCardWorld(tc.collisions)
			c, o, err := w.service().CreateCard(context.Background(), "ten_1", CardRequest{ProductID: "prd_1", CardHolderName: "ana souza"})
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrPANTaken) || w.calls != maxPANDraws {
					t.Fatalf("err %v after %d draws, want ErrPANTaken after %d", err, w.calls, maxPANDraws)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.calls != tc.collisions+1 || len(w.created) != 1 || len(w.sealed) != tc.collisions+1 {
				t.Fatalf("%d store calls, %d cards, %d seals", w.calls, len(w.created), len(w.sealed))
			}
			// Each draw is a new card id with its own PAN, sealed to it.
			pan := w.sealed[c.ID]
			if string(c.PANCipher) != "sealed:"+c.ID || string(c.PANIndex) != "idx:"+pan || c.BIN != pan[:6] || c.Last4 != pan[12:] ||
				!strings.HasPrefix(pan, "40000018") || c.Expiry != "2806" || c.CVKVersion != 2 || c.PrintedName != "ANA SOUZA" ||
				c.Status != StatusActive || o.Status != OrderCompleted || o.CardID != c.ID {
				t.Fatalf("card %+v order %+v", c, o)
			}
			seen := map[string]bool{}
			for _, p := range w.sealed {
				seen[p] = true
			}
			if len(seen) != len(w.sealed) {
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
