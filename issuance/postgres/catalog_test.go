package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
)

// catalogFixture stores one object of each catalog kind for a tenant,
// created at base + offset so that ids order as the offsets do.
func catalogFixture(t *testing.T, db *postgres.DB, tenantID string, at time.Time) (issuance.Template, issuance.Embosser, issuance.Layout, issuance.Product, issuance.Cardholder) {
	t.Helper()
	ctx := context.Background()
	at = at.UTC().Truncate(time.Microsecond)
	tpl := issuance.Template{ID: issuance.NewID("tpl", at), TenantID: tenantID, Name: "Visa CVN 18", Network: issuance.NetworkVisa,
		IIN: "40000018", PANLength: 16, CVN: 18, AID: "A0000000031010", ServiceCode: "201", IMKACRef: "key_imk", IMKSMIRef: "key_smi",
		CVKRef: "key_cvk", PVKRef: "key_pvk", PINMethod: "PVV", PVKI: "1", CreatedAt: at}
	emb := issuance.Embosser{ID: issuance.NewID("emb", at), TenantID: tenantID, Name: "Loopback", Type: "LOOPBACK", KEKRef: "key_kek", ManualIssue: true, CreatedAt: at}
	lay := issuance.Layout{ID: issuance.NewID("lay", at), TenantID: tenantID, Layout: "standard-blue-v1", Name: "Blue", Description: "d", CreatedAt: at}
	limit := int64(50000)
	amount := int64(1000)
	no := false
	prd := issuance.Product{ID: issuance.NewID("prd", at), TenantID: tenantID, Name: "Classic", Description: "debit", LayoutID: lay.ID,
		TemplateID: tpl.ID, DefaultEmbosserID: emb.ID, Currency: "USD", CardType: issuance.CardVirtual, Status: issuance.ProductActive,
		ValidityMonths: 36, CardLimit: &limit, SpendingControls: []issuance.SpendingControl{{Amount: &amount, Interval: issuance.Daily, MCC: []string{"5411"}}},
		RiskControls:             issuance.RiskControls{BlockedMCC: []string{"7995"}, AllowedCountries: []string{"US"}, Channels: issuance.Channels{ATM: &no}},
		RequiredCardholderFields: []string{"email"}, RequireKYC: true, CVV2Policy: "IF_PRESENT", CVV2MaxTries: 7, FundingMode: "LIMIT", CreatedAt: at, UpdatedAt: at}
	chd := issuance.Cardholder{ID: issuance.NewID("chd", at), TenantID: tenantID, FirstName: "Ana", LastName: "Silva", Email: "ana@example.com",
		Phone: "+5511912345678", BirthDate: "1990-04-01", Nationality: "BR",
		Address: &issuance.Address{Line1: "Av. Paulista 1000", City: "São Paulo", Country: "BR"}, KYCStatus: issuance.KYCPending, CreatedAt: at, UpdatedAt: at}
	for _, err := range []error{db.CreateTemplate(ctx, tpl), db.CreateEmbosser(ctx, emb), db.CreateLayout(ctx, lay), db.CreateProduct(ctx, prd), db.CreateCardholder(ctx, chd)} {
		if err != nil {
			t.Fatalf("storing catalog: %v", err)
		}
	}
	return tpl, emb, lay, prd, chd
}

func TestCatalogRoundTripAndTenantIsolation(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	a, _ := newTenant(t, db, "A")
	b, _ := newTenant(t, db, "B")
	tpl, emb, lay, prd, chd := catalogFixture(t, db, a.ID, time.Now())

	for _, tc := range []struct {
		name string
		get  func(tenant string) (any, error)
		want any
	}{
		{"template", func(ten string) (any, error) { return db.Template(ctx, ten, tpl.ID) }, tpl},
		{"embosser", func(ten string) (any, error) { return db.Embosser(ctx, ten, emb.ID) }, emb},
		{"layout", func(ten string) (any, error) { return db.Layout(ctx, ten, lay.ID) }, lay},
		{"product", func(ten string) (any, error) { return db.Product(ctx, ten, prd.ID) }, prd},
		{"cardholder", func(ten string) (any, error) { return db.Cardholder(ctx, ten, chd.ID) }, chd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get(a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("read back\n%+v\nwant\n%+v", got, tc.want)
			}
			if _, err := tc.get(b.ID); !errors.Is(err, issuance.ErrNotFound) {
				t.Fatalf("another tenant's read: err = %v, want ErrNotFound", err)
			}
		})
	}

	// A product of tenant B cannot point at tenant A's layout.
	other := prd
	other.ID, other.TenantID = issuance.NewID("prd", time.Now()), b.ID
	if err := db.CreateProduct(ctx, other); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("cross-tenant references: err = %v, want ErrNotFound", err)
	}
}

func TestCatalogPaginationAndFilters(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	a, _ := newTenant(t, db, "A")
	base := time.Now().Add(-time.Hour)
	var ids []string
	for i := range 5 {
		_, _, lay, prd, chd := catalogFixture(t, db, a.ID, base.Add(time.Duration(i)*time.Second))
		ids = append(ids, lay.ID)
		if i%2 == 1 {
			if _, err := db.UpdateProduct(ctx, a.ID, prd.ID, func(p *issuance.Product) error { p.Status = issuance.ProductInactive; return nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := db.UpdateCardholder(ctx, a.ID, chd.ID, func(c *issuance.Cardholder) error { c.KYCStatus = issuance.KYCVerified; return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Newest first, two per page: 4 3 | 2 1 | 0.
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		ls, more, err := db.Layouts(ctx, a.ID, issuance.PageRequest{Limit: 2, StartingAfter: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			got = append(got, l.ID)
		}
		if wantMore := page < 2; more != wantMore {
			t.Fatalf("page %d: has_more %v, want %v", page, more, wantMore)
		}
		if !more {
			break
		}
		cursor = ls[len(ls)-1].ID
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}

	inactive, _, err := db.Products(ctx, a.ID, issuance.ProductFilter{Status: issuance.ProductInactive})
	if err != nil || len(inactive) != 2 {
		t.Fatalf("INACTIVE products: %d, %v; want 2", len(inactive), err)
	}
	for _, p := range inactive {
		if p.Status != issuance.ProductInactive {
			t.Fatalf("filter let through %s", p.Status)
		}
	}
	pending, _, err := db.Cardholders(ctx, a.ID, issuance.CardholderFilter{KYCStatus: issuance.KYCPending})
	if err != nil || len(pending) != 3 {
		t.Fatalf("PENDING cardholders: %d, %v; want 3", len(pending), err)
	}
}

func TestUpdateProductRollsBackOnError(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	a, _ := newTenant(t, db, "A")
	_, _, _, prd, _ := catalogFixture(t, db, a.ID, time.Now())
	boom := errors.New("boom")
	if _, err := db.UpdateProduct(ctx, a.ID, prd.ID, func(p *issuance.Product) error { p.Name = "changed"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the callback's", err)
	}
	got, err := db.Product(ctx, a.ID, prd.ID)
	if err != nil || got.Name != prd.Name {
		t.Fatalf("after a failed update: %q, %v; want %q", got.Name, err, prd.Name)
	}
	if _, err := db.UpdateProduct(ctx, "ten_other", prd.ID, func(*issuance.Product) error { return nil }); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("another tenant's update: %v", err)
	}
	// A layout of another tenant is refused by the foreign key.
	b, _ := newTenant(t, db, "B")
	_, _, blay, _, _ := catalogFixture(t, db, b.ID, time.Now())
	if _, err := db.UpdateProduct(ctx, a.ID, prd.ID, func(p *issuance.Product) error { p.LayoutID = blay.ID; return nil }); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("pointing at another tenant's layout: %v", err)
	}
}

func TestHSMKeyDirectory(t *testing.T) {
	db, hsm, _ := newHSM(t, softhsm.Config{})
	ctx := context.Background()
	cvk, err := hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: emv.KeyCVK, Tenant: "ten_a"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.HSMKey(ctx, cvk.Ref)
	if err != nil {
		t.Fatal(err)
	}
	deps := issuance.Deps{Tenants: db}
	byA, errA := deps.KeyUsable(ctx, got, "ten_a")
	byB, errB := deps.KeyUsable(ctx, got, "ten_b")
	if got.Type != emv.KeyCVK || got.Tenant != "ten_a" || got.KCV != cvk.KCV || !byA || byB || errA != nil || errB != nil {
		t.Fatalf("HSMKey = %+v, usable by its tenant %v (%v), by another %v (%v)", got, byA, errA, byB, errB)
	}
	if _, err := db.HSMKey(ctx, "key_missing"); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := hsm.Retire(ctx, cvk.Ref, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.HSMKey(ctx, cvk.Ref); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("retired key: %v, want ErrNotFound", err)
	}
}

func TestSeedCatalogIsAtomicAndOnce(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	a, _ := newTenant(t, db, "A")
	now := time.Now().UTC().Truncate(time.Microsecond)
	tpl := issuance.Template{ID: issuance.NewID("tpl", now), TenantID: a.ID, Name: "t", Network: issuance.NetworkVisa, IIN: "40000018",
		PANLength: 16, CVN: 18, AID: "A0000000031010", ServiceCode: "201", IMKACRef: "k", CVKRef: "k", CreatedAt: now}
	lay := issuance.Layout{ID: issuance.NewID("lay", now), TenantID: a.ID, Layout: "l", Name: "l", CreatedAt: now}
	emb := issuance.Embosser{ID: issuance.NewID("emb", now), TenantID: a.ID, Name: "e", Type: "LOOPBACK", KEKRef: "k", CreatedAt: now}
	prd := issuance.Product{ID: issuance.NewID("prd", now), TenantID: a.ID, Name: "p", LayoutID: lay.ID, TemplateID: tpl.ID,
		DefaultEmbosserID: emb.ID, Currency: "USD", CardType: issuance.CardVirtual, Status: issuance.ProductActive, ValidityMonths: 36, CreatedAt: now, UpdatedAt: now}

	// A product whose layout is missing fails the whole seed.
	bad := postgres.CatalogSeed{TenantID: a.ID, Templates: []issuance.Template{tpl}, Embossers: []issuance.Embosser{emb}, Products: []issuance.Product{prd}, At: now}
	if err := db.SeedCatalog(ctx, bad); err == nil {
		t.Fatal("seed with a dangling reference succeeded")
	}
	if seeded, _ := db.SandboxSeeded(ctx, a.ID); seeded {
		t.Fatal("failed seed left the tenant marked seeded")
	}
	if _, err := db.Template(ctx, a.ID, tpl.ID); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("failed seed left a template: %v", err)
	}

	good := bad
	good.Layouts = []issuance.Layout{lay}
	if err := db.SeedCatalog(ctx, good); err != nil {
		t.Fatal(err)
	}
	if seeded, _ := db.SandboxSeeded(ctx, a.ID); !seeded {
		t.Fatal("tenant not marked seeded")
	}
	again := good
	again.Templates = nil
	again.Embossers = nil
	again.Layouts = nil
	again.Products = nil
	if err := db.SeedCatalog(ctx, again); !errors.Is(err, issuance.ErrConflict) {
		t.Fatalf("second seed: %v, want ErrConflict", err)
	}
}

func TestKeyRolesAndAcquirers(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	if ok, err := db.AssignKeyRole(ctx, issuance.KeyRoleCA, "key_ca1", false); err != nil || !ok {
		t.Fatalf("first assignment: %v %v", ok, err)
	}
	if ok, err := db.AssignKeyRole(ctx, issuance.KeyRoleCA, "key_ca2", false); err != nil || ok {
		t.Fatalf("assign-if-missing over an assignment: %v %v", ok, err)
	}
	if _, err := db.AssignKeyRole(ctx, "bogus", "key_x", true); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("unknown role: %v", err)
	}
	keys, err := db.SystemKeys(ctx)
	if err != nil || keys.CA != "key_ca1" || keys.ECDH != "" {
		t.Fatalf("SystemKeys = %+v, %v", keys, err)
	}
	if ok, err := db.AssignKeyRole(ctx, issuance.KeyRoleCA, "key_ca2", true); err != nil || !ok {
		t.Fatalf("replace: %v %v", ok, err)
	}
	if keys, _ := db.SystemKeys(ctx); keys.CA != "key_ca2" {
		t.Fatalf("after replace CA = %s", keys.CA)
	}
	if m := keys.Missing(); !reflect.DeepEqual(m, []string{"pan-dek", "pan-idx", "ecdh"}) {
		t.Fatalf("Missing = %v", m)
	}

	a := postgres.Acquirer{ID: "00000000001", Name: "Sandbox acquirer", ZPKRef: "key_zpk", CreatedAt: time.Now().UTC()}
	if err := db.CreateAcquirer(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAcquirer(ctx, a); !errors.Is(err, issuance.ErrConflict) {
		t.Fatalf("duplicate acquirer: %v", err)
	}
	if ref, err := db.AcquirerZPK(ctx, "00000000001"); err != nil || ref != "key_zpk" {
		t.Fatalf("AcquirerZPK = %q, %v", ref, err)
	}
	if _, err := db.AcquirerZPK(ctx, "1"); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("unknown acquirer: %v", err)
	}
	bad := a
	bad.ID = "12A"
	if err := db.CreateAcquirer(ctx, bad); err == nil {
		t.Fatal("non-numeric acquirer id stored")
	}

	// Security settings (migration 0037): PIN block formats 0 and 3 by
	// default; MACs required only with a ZAK; only formats 0, 1 and 3.
	if got, err := db.Acquirer(ctx, "00000000001"); err != nil || got.MACRequired || fmt.Sprint(got.PINFormats) != fmt.Sprint([]pinblock.Format{0, 3}) {
		t.Fatalf("defaults: %+v, %v", got, err)
	}
	a.ZAKRef, a.MACRequired, a.PINFormats = "key_zak", true, []pinblock.Format{pinblock.Format1, pinblock.Format0}
	if err := db.UpdateAcquirer(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Acquirer(ctx, "00000000001"); got.ZAKRef != "key_zak" || !got.MACRequired || fmt.Sprint(got.PINFormats) != fmt.Sprint([]pinblock.Format{1, 0}) {
		t.Fatalf("after update: %+v", got)
	}
	for name, b := range map[string]postgres.Acquirer{
		"MAC required without ZAK": {ID: "00000000001", Name: "x", ZPKRef: "key_zpk", MACRequired: true},
		"format 4":                 {ID: "00000000001", Name: "x", ZPKRef: "key_zpk", PINFormats: []pinblock.Format{pinblock.Format4}},
	} {
		if err := db.UpdateAcquirer(ctx, b); err == nil {
			t.Fatalf("%s stored", name)
		}
	}
	if err := db.UpdateAcquirer(ctx, postgres.Acquirer{ID: "2", Name: "x", ZPKRef: "key_zpk"}); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("update of an unknown acquirer: %v", err)
	}
}
