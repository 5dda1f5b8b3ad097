package issuance

import (
	"context"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

// TestImportChecksBINRangesFirst: a PAN outside the tenant's BIN ranges is
// refused before the PAN is sealed, indexed or stored, so the answer
// cannot depend on what other tenants hold; inside them the import goes on
// to the store, whose pan_taken is then about the tenant's own card.
func TestImportChecksBINRangesFirst(t *testing.T) {
	var touched []string
	cards := &fakeCards{createCard: func(NewCard) error { touched = append(touched, "store"); return ErrPANTaken }}
	cat := &fakeCatalog{
		binRanges: func(tenantID string) ([]bins.Range, error) {
			if tenantID != "ten_1" {
				t.Fatalf("ranges of %s read", tenantID)
			}
			return []bins.Range{{Prefix: "520000", TenantID: "ten_1"}, {Prefix: "41000018", TenantID: "ten_1"}}, nil
		},
		hsmKey: func(ref string) (KeyMeta, error) {
			typ := map[string]emv.KeyType{"key_imk": emv.KeyIMKAC, "key_cvk": emv.KeyCVK}[ref]
			return KeyMeta{Ref: ref, Type: typ, Tenant: "ten_1"}, nil
		},
		product: func(id string) (Product, error) {
			return Product{ID: id, Status: ProductActive, Currency: "USD", CardType: CardVirtual}, nil
		},
	}
	vault := &fakeVault{
		sealPAN:  func(string, emv.PAN) ([]byte, error) { touched = append(touched, "seal"); return []byte{1}, nil },
		indexPAN: func(emv.PAN) ([]byte, error) { touched = append(touched, "index"); return []byte{2}, nil },
	}
	svc := fakeService(cards, cat, vault)
	req := func(iin string) ImportRequest {
		pan, err := dataprep.GeneratePAN(iin, 16, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ImportRequest{PAN: pan, Expiry: testNow.AddDate(2, 0, 0).Format("0601"), Network: NetworkMastercard, CVN: 17,
			IMKACRef: "key_imk", CVKRef: "key_cvk", ProductID: "prd_1"}
	}
	for _, tc := range []struct{ name, iin, slug string }{
		{"no range of the tenant", "51000016", bins.SlugPANOutside},
		{"beside an 8-digit range", "41000019", bins.SlugPANOutside},
		{"inside a 6-digit range", "52000099", SlugPANTaken},
		{"inside an 8-digit range", "41000018", SlugPANTaken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			touched = nil
			_, _, err := svc.ImportCard(context.Background(), "ten_1", req(tc.iin))
			field := ""
			if tc.slug == bins.SlugPANOutside {
				field = "pan"
			}
			wantRejection(t, err, tc.slug, field)
			if tc.slug == bins.SlugPANOutside && len(touched) != 0 {
				t.Fatalf("a PAN outside the ranges reached %v", touched)
			}
			if tc.slug == SlugPANTaken && len(touched) != 3 {
				t.Fatalf("a PAN inside the ranges reached %v, want seal, index, store", touched)
			}
		})
	}
}
