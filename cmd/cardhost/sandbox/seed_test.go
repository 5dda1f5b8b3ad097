package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
)

// TestSandboxPublishedComponents checks the documented clear values and
// check values of the sandbox keys against their published components.
func TestSandboxPublishedComponents(t *testing.T) {
	for _, pk := range []PublishedKey{TransportKEK, AcquirerZPK, MACAcquirerZAK} {
		t.Run(string(pk.Type), func(t *testing.T) {
			alg := emv.AlgorithmTDES
			if pk.Spec == emv.KeySpecAES256 {
				alg = emv.AlgorithmAES
			}
			var key []byte
			for i, c := range pk.Components {
				b, _ := hex.DecodeString(c)
				kcv, err := emv.KCV(alg, b)
				if err != nil || emv.EncodeHex(kcv) != pk.ComponentKCVs[i] {
					t.Fatalf("component %d KCV %X, want %s", i+1, kcv, pk.ComponentKCVs[i])
				}
				if key == nil {
					key = make([]byte, len(b))
				}
				subtle.XORBytes(key, key, b)
			}
			if emv.EncodeHex(key) != pk.Clear {
				t.Fatalf("XOR %X, documented %s", key, pk.Clear)
			}
			kcv, _ := emv.KCV(alg, key)
			if emv.EncodeHex(kcv) != pk.KCV {
				t.Fatalf("KCV %X, documented %s", kcv, pk.KCV)
			}
		})
	}
}

// seedEnv is a Seeder over a fresh database and HSM, reporting to a
// buffer, with the card domain service cardhost wires in sandbox mode.
type seedEnv struct {
	*Seeder
	svc     *issuance.Service
	catalog *catalog.Service
	out     *bytes.Buffer
}

func newSeedEnv(t *testing.T) *seedEnv {
	t.Helper()
	db := pgtest.New(t, postgres.Config{})
	mk := make([]byte, 32)
	rand.Read(mk)
	hsm, err := softhsm.New(softhsm.Config{MasterKeyHex: emv.Sensitive(hex.EncodeToString(mk))}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	e := &seedEnv{out: &bytes.Buffer{}}
	e.Seeder = &Seeder{DB: db, HSM: hsm, Log: slog.New(slog.DiscardHandler), Out: e.out}
	e.svc = e.service(t)
	return e
}

// service ensures the platform keys and returns the service over them (and
// sets the catalog service), as cardhost does at every start in sandbox
// mode.
func (e *seedEnv) service(t *testing.T) *issuance.Service {
	t.Helper()
	ctx := context.Background()
	if err := e.EnsurePlatformKeys(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := e.DB.SystemKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deps := issuance.Deps{Tenants: e.DB, Catalog: e.DB, Cards: e.DB, Keys: keys, Vault: e.HSM, Sandbox: true, Logger: e.Log}
	e.catalog = catalog.New(deps)
	return issuance.NewService(deps)
}

func TestSandboxBootstrapSeedsOnce(t *testing.T) {
	a := newSeedEnv(t)
	out := a.out
	ctx := context.Background()
	// Starting assigned the platform keys and printed them.
	keys, err := a.DB.SystemKeys(ctx)
	if err != nil || len(keys.Missing()) != 0 {
		t.Fatalf("platform keys %+v, %v", keys, err)
	}
	for role, ref := range map[string]string{"pan-dek": keys.PANDEK, "pan-idx": keys.PANIndex, "ca": keys.CA, "ecdh": keys.ECDH} {
		want, _ := issuance.KeyRoleType(role)
		info, err := a.HSM.KeyInfo(ctx, ref, 0)
		if err != nil || info.Type != want || info.Tenant != "" || !strings.Contains(out.String(), ref) {
			t.Fatalf("role %s: %+v %v (printed: %v)", role, info, err, strings.Contains(out.String(), ref))
		}
	}

	secret, err := a.Bootstrap(ctx, a.svc)
	if err != nil || !issuance.LooksLikeAPIKey(secret) {
		t.Fatalf("bootstrap: %q %v", secret, err)
	}
	report := out.String()
	ts, _ := a.svc.Tenants(ctx)
	if len(ts) != 1 || !ts[0].Sandbox {
		t.Fatalf("tenants %+v", ts)
	}
	tenant := ts[0].ID
	for _, want := range []string{"tenant " + tenant + " seeded", "KCV " + TransportKEK.KCV, "acquirer " + AcquirerID, "KCV " + AcquirerZPK.KCV, "acquirer " + MACAcquirerID, "KCV " + MACAcquirerZAK.KCV, "imk-ac", "pvk"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, TransportKEK.Clear) || strings.Contains(report, AcquirerZPK.Clear) || strings.Contains(report, MACAcquirerZAK.Clear) {
		t.Fatal("the report printed a clear key")
	}

	// The tenant's catalog: one template per CVN with the tenant's keys, the
	// loopback embosser under the transport KEK, an ACTIVE default product.
	tpls, _, err := a.DB.Templates(ctx, tenant, issuance.PageRequest{Limit: 100})
	if err != nil || len(tpls) != 8 {
		t.Fatalf("templates: %d %v", len(tpls), err)
	}
	var cvns []int
	for _, tp := range tpls {
		cvns = append(cvns, tp.CVN)
		for _, ref := range []string{tp.IMKACRef, tp.IMKSMIRef, tp.IMKSMCRef, tp.CVKRef, tp.PVKRef} {
			info, err := a.HSM.KeyInfo(ctx, ref, 0)
			if err != nil || info.Tenant != tenant {
				t.Fatalf("template %s key %s: %+v %v", tp.Name, ref, info, err)
			}
		}
		if tp.PANLength != 16 || tp.ServiceCode != "201" || tp.PINMethod != "PVV" || tp.PVKI != "1" {
			t.Fatalf("template %+v", tp)
		}
		// The seeded template passes the API's own validation.
		if _, err := a.catalog.CreateTemplate(ctx, tenant, issuance.Template{Name: "copy", Network: tp.Network, IIN: tp.IIN, CVN: tp.CVN, AID: tp.AID,
			ServiceCode: tp.ServiceCode, IMKACRef: tp.IMKACRef, IMKSMIRef: tp.IMKSMIRef, IMKSMCRef: tp.IMKSMCRef, CVKRef: tp.CVKRef, PVKRef: tp.PVKRef}); err != nil {
			t.Fatalf("template %s fails the API's validation: %v", tp.Name, err)
		}
	}
	slices.Sort(cvns)
	if !slices.Equal(cvns, []int{1, 10, 16, 17, 18, 20, 21, 22}) {
		t.Fatalf("CVNs %v", cvns)
	}
	prds, _, _ := a.DB.Products(ctx, tenant, issuance.ProductFilter{})
	if len(prds) != 1 {
		t.Fatalf("products %+v", prds)
	}
	p := prds[0]
	tpl, _ := a.DB.Template(ctx, tenant, p.TemplateID)
	emb, _ := a.DB.Embosser(ctx, tenant, p.DefaultEmbosserID)
	kek, _ := a.HSM.KeyInfo(ctx, emb.KEKRef, 0)
	if p.Status != issuance.ProductActive || p.Currency != "USD" || p.CardType != issuance.CardVirtual || p.ValidityMonths != 36 ||
		tpl.CVN != 18 || emb.Type != issuance.EmbosserLoopback || kek.Type != emv.KeyKEK || kek.KCV != TransportKEK.KCV || kek.Tenant != tenant {
		t.Fatalf("default product %+v template CVN %d embosser %+v KEK %+v", p, tpl.CVN, emb, kek)
	}
	if _, err := a.DB.Layout(ctx, tenant, p.LayoutID); err != nil {
		t.Fatalf("layout: %v", err)
	}
	zpkRef, err := a.DB.AcquirerZPK(ctx, AcquirerID)
	zpk, _ := a.HSM.KeyInfo(ctx, zpkRef, 0)
	if err != nil || zpk.Type != emv.KeyZPK || zpk.KCV != AcquirerZPK.KCV || zpk.Tenant != "" {
		t.Fatalf("sandbox acquirer ZPK %+v, %v", zpk, err)
	}
	macAcq, err := a.DB.Acquirer(ctx, MACAcquirerID)
	zak, _ := a.HSM.KeyInfo(ctx, macAcq.ZAKRef, 0)
	if err != nil || !macAcq.MACRequired || macAcq.ZPKRef != zpkRef || zak.Type != emv.KeyZAK || zak.KCV != MACAcquirerZAK.KCV || zak.Tenant != "" {
		t.Fatalf("sandbox MAC acquirer %+v, ZAK %+v, %v", macAcq, zak, err)
	}

	// A restart seeds nothing twice and prints only the sandbox tenant and
	// the way to a new key.
	before, _ := a.HSM.ListKeys(ctx, emv.KeyFilter{})
	tpls, _, _ = a.DB.Templates(ctx, tenant, issuance.PageRequest{Limit: 100}) // with the copies made above
	out.Reset()
	secret, err = a.Bootstrap(ctx, a.service(t))
	want := "sandbox: tenant " + tenant + " (Sandbox); its API key was printed at the first start. Lost it? Make another:\n\n" +
		"  cardhost tenants create-key --tenant " + tenant + " --name laptop\n\n"
	if err != nil || secret != "" || out.String() != want {
		t.Fatalf("restart: %q %v, printed %q, want %q", secret, err, out.String(), want)
	}
	after, _ := a.HSM.ListKeys(ctx, emv.KeyFilter{})
	tpls2, _, _ := a.DB.Templates(ctx, tenant, issuance.PageRequest{Limit: 100})
	if len(after) != len(before) || len(tpls2) != len(tpls) {
		t.Fatalf("restart created keys (%d -> %d) or templates (%d -> %d)", len(before), len(after), len(tpls), len(tpls2))
	}
}

func TestSeedSandboxTenantResumesWithExistingKeys(t *testing.T) {
	a := newSeedEnv(t)
	ctx := context.Background()
	ten, _, err := a.svc.CreateTenant(ctx, "Half seeded", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A previous run made the IMK-AC and stopped.
	imk, err := a.HSM.GenerateKey(ctx, softhsm.KeyRequest{Type: emv.KeyIMKAC, Tenant: ten.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.AssignTenantKeyRole(ctx, ten.ID, "imk-ac", imk.Ref); err != nil {
		t.Fatal(err)
	}
	if err := a.SeedTenant(ctx, ten.ID); err != nil {
		t.Fatal(err)
	}
	tpls, _, _ := a.DB.Templates(ctx, ten.ID, issuance.PageRequest{})
	if len(tpls) != 8 || tpls[0].IMKACRef != imk.Ref {
		t.Fatalf("templates %d, IMK-AC %s; want 8 with %s", len(tpls), tpls[0].IMKACRef, imk.Ref)
	}
	imks, _ := a.HSM.ListKeys(ctx, emv.KeyFilter{Type: emv.KeyIMKAC, Tenant: ten.ID})
	if len(imks) != 1 {
		t.Fatalf("%d IMK-AC keys, want the one from the first run", len(imks))
	}
	// Two tenants seeded concurrently (two instances starting) stay apart.
	t2, _, _ := a.svc.CreateTenant(ctx, "Second", true, nil)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			d := *a.Seeder
			d.Out = &bytes.Buffer{}
			errs <- d.SeedTenant(ctx, t2.ID)
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	prds, _, _ := a.DB.Products(ctx, t2.ID, issuance.ProductFilter{})
	keys, _ := a.HSM.ListKeys(ctx, emv.KeyFilter{Tenant: t2.ID})
	if len(prds) != 1 || len(keys) != len(tenantKeys) {
		t.Fatalf("concurrent seeding: %d products, %d keys", len(prds), len(keys))
	}
}

// TestSandboxTenantsGetTheirOwnBINRanges: each seeded sandbox tenant owns
// a Visa, a Mastercard and a UnionPay BIN range no other tenant has, with
// its templates' IINs inside; the first gets 400000, 510000 and 620000 (its IINs are
// 40000018...), the next the next free block, and a block holding another
// tenant's template (a database from before BIN ranges) is skipped. A
// tenant can then import PANs of its own ranges and not of another's.
func TestSandboxTenantsGetTheirOwnBINRanges(t *testing.T) {
	a := newSeedEnv(t)
	ctx := context.Background()
	if _, err := a.Bootstrap(ctx, a.svc); err != nil {
		t.Fatal(err)
	}
	ts, _ := a.svc.Tenants(ctx)
	first := ts[0].ID
	// A tenant from before BIN ranges, with a template in block 1 and no range.
	legacy, _, _ := a.svc.CreateTenant(ctx, "Legacy", false, nil)
	if err := a.DB.CreateTemplate(ctx, issuance.Template{ID: issuance.NewID(issuance.TemplateIDPrefix, a.now()), TenantID: legacy.ID, Name: "old",
		Network: issuance.NetworkVisa, IIN: "40000118", PANLength: 16, CVN: 18, AID: "A0000000031010", ServiceCode: "201", IMKACRef: "k", CVKRef: "k",
		CreatedAt: a.now()}); err != nil {
		t.Fatal(err)
	}
	second, _, _ := a.svc.CreateTenant(ctx, "Second", true, nil)
	a.out.Reset()
	if err := a.SeedTenant(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.out.String(), "BIN ranges 400002, 510002, 620002") {
		t.Fatalf("report:\n%s", a.out)
	}
	for _, tc := range []struct {
		tenant string
		ranges []string
		iin18  string
	}{{first, []string{"400000", "510000", "620000"}, "40000018"}, {second.ID, []string{"400002", "510002", "620002"}, "40000218"}} {
		rs, err := a.catalog.BINRanges(ctx, tc.tenant)
		var got []string
		for _, r := range rs {
			got = append(got, r.Prefix)
		}
		if err != nil || !slices.Equal(got, tc.ranges) {
			t.Fatalf("tenant %s ranges %v %v, want %v", tc.tenant, got, err, tc.ranges)
		}
		tpls, _, _ := a.DB.Templates(ctx, tc.tenant, issuance.PageRequest{Limit: 100})
		var iins []string
		for _, tp := range tpls {
			iins = append(iins, tp.IIN)
			if !bins.Covers(rs, tp.IIN) || tp.IIN[len(tp.IIN)-2:] != fmt.Sprintf("%02d", tp.CVN) {
				t.Fatalf("template %s IIN %s (CVN %d) outside the tenant's ranges %v or not ending in its CVN", tp.Name, tp.IIN, tp.CVN, got)
			}
		}
		if !slices.Contains(iins, tc.iin18) {
			t.Fatalf("tenant %s IINs %v, want %s among them", tc.tenant, iins, tc.iin18)
		}
	}

	// Imports: a PAN of the tenant's range, not one of the other's.
	prds, _, _ := a.DB.Products(ctx, second.ID, issuance.ProductFilter{})
	tpl, _ := a.DB.Template(ctx, second.ID, prds[0].TemplateID)
	imp := func(prefix string) error {
		pan, _ := dataprep.GeneratePAN(prefix, 16, nil)
		_, _, err := a.svc.ImportCard(ctx, second.ID, issuance.ImportRequest{PAN: pan, Expiry: a.now().AddDate(2, 0, 0).Format("0601"),
			Network: issuance.NetworkVisa, CVN: 18, IMKACRef: tpl.IMKACRef, CVKRef: tpl.CVKRef, ProductID: prds[0].ID})
		return err
	}
	if err := imp("40000218"); err != nil {
		t.Fatalf("import in the tenant's own range: %v", err)
	}
	if err := imp("40000018"); issuance.SlugOf(err) != bins.SlugPANOutside {
		t.Fatalf("import in the first tenant's range: %v, want %s", err, bins.SlugPANOutside)
	}
}
