package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
)

// TestSandboxPublishedComponents checks the documented clear values and
// check values of the sandbox keys against their published components.
func TestSandboxPublishedComponents(t *testing.T) {
	for _, tc := range []struct {
		name       string
		alg        emv.KeyAlgorithm
		components []string
		kcvs       []string
		clear, kcv string
	}{
		{"tenant transport KEK (AES-256)", emv.AlgorithmAES, sandboxKEKComponents, sandboxKEKComponentKCVs, sandboxKEKClear, sandboxKEKKCV},
		{"sandbox acquirer ZPK (TDES)", emv.AlgorithmTDES, sandboxZPKComponents, sandboxZPKComponentKCVs, sandboxZPKClear, sandboxZPKKCV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var key []byte
			for i, c := range tc.components {
				b, _ := hex.DecodeString(c)
				kcv, err := emv.KCV(tc.alg, b)
				if err != nil || emv.EncodeHex(kcv) != tc.kcvs[i] {
					t.Fatalf("component %d KCV %X, want %s", i+1, kcv, tc.kcvs[i])
				}
				if key == nil {
					key = make([]byte, len(b))
				}
				subtle.XORBytes(key, key, b)
			}
			if emv.EncodeHex(key) != tc.clear {
				t.Fatalf("XOR %X, documented %s", key, tc.clear)
			}
			kcv, _ := emv.KCV(tc.alg, key)
			if emv.EncodeHex(kcv) != tc.kcv {
				t.Fatalf("KCV %X, documented %s", kcv, tc.kcv)
			}
		})
	}
}

// sandboxApp is an App with a database and an HSM (no servers), in sandbox
// mode, printing the seeding report to a buffer.
func sandboxApp(t *testing.T) (*App, *bytes.Buffer) {
	t.Helper()
	db := pgtest.New(t, postgres.Config{})
	mk := filepath.Join(t.TempDir(), "master.key")
	if _, err := softhsm.GenerateMasterKeyFile(mk, nil); err != nil {
		t.Fatal(err)
	}
	hsm, err := softhsm.New(softhsm.Config{MasterKeyFile: mk}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	a := &App{cfg: Config{Mode: "sandbox"}, log: slog.New(slog.DiscardHandler), out: &out, db: db, hsm: hsm}
	if a.svc, err = newService(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a, &out
}

func TestSandboxBootstrapSeedsOnce(t *testing.T) {
	a, out := sandboxApp(t)
	ctx := context.Background()
	// newService assigned the platform keys and printed them.
	keys, err := a.db.SystemKeys(ctx)
	if err != nil || len(keys.Missing()) != 0 {
		t.Fatalf("platform keys %+v, %v", keys, err)
	}
	for role, ref := range map[string]string{"pan-dek": keys.PANDEK, "pan-idx": keys.PANIndex, "ca": keys.CA, "ecdh": keys.ECDH} {
		want, _ := issuance.KeyRoleType(role)
		info, err := a.hsm.KeyInfo(ctx, ref, 0)
		if err != nil || info.Type != want || info.Tenant != "" || !strings.Contains(out.String(), ref) {
			t.Fatalf("role %s: %+v %v (printed: %v)", role, info, err, strings.Contains(out.String(), ref))
		}
	}

	secret, err := bootstrapSandbox(ctx, a)
	if err != nil || !issuance.LooksLikeAPIKey(secret) {
		t.Fatalf("bootstrap: %q %v", secret, err)
	}
	report := out.String()
	ts, _ := a.svc.Tenants(ctx)
	if len(ts) != 1 || !ts[0].Sandbox {
		t.Fatalf("tenants %+v", ts)
	}
	tenant := ts[0].ID
	for _, want := range []string{"tenant " + tenant + " seeded", "KCV " + sandboxKEKKCV, "acquirer " + sandboxAcquirerID, "KCV " + sandboxZPKKCV, "imk-ac", "pvk"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, sandboxKEKClear) || strings.Contains(report, sandboxZPKClear) {
		t.Fatal("the report printed a clear key")
	}

	// The tenant's catalog: one template per CVN with the tenant's keys, the
	// loopback embosser under the transport KEK, an ACTIVE default product.
	tpls, _, err := a.db.Templates(ctx, tenant, issuance.PageRequest{Limit: 100})
	if err != nil || len(tpls) != 7 {
		t.Fatalf("templates: %d %v", len(tpls), err)
	}
	var cvns []int
	for _, tp := range tpls {
		cvns = append(cvns, tp.CVN)
		for _, ref := range []string{tp.IMKACRef, tp.IMKSMIRef, tp.IMKSMCRef, tp.CVKRef, tp.PVKRef} {
			info, err := a.hsm.KeyInfo(ctx, ref, 0)
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
	if !slices.Equal(cvns, []int{10, 16, 17, 18, 20, 21, 22}) {
		t.Fatalf("CVNs %v", cvns)
	}
	prds, _, _ := a.db.Products(ctx, tenant, issuance.ProductFilter{})
	if len(prds) != 1 {
		t.Fatalf("products %+v", prds)
	}
	p := prds[0]
	tpl, _ := a.db.Template(ctx, tenant, p.TemplateID)
	emb, _ := a.db.Embosser(ctx, tenant, p.DefaultEmbosserID)
	kek, _ := a.hsm.KeyInfo(ctx, emb.KEKRef, 0)
	if p.Status != issuance.ProductActive || p.Currency != "USD" || p.CardType != issuance.CardVirtual || p.ValidityMonths != 36 ||
		tpl.CVN != 18 || emb.Type != issuance.EmbosserLoopback || kek.Type != emv.KeyKEK || kek.KCV != sandboxKEKKCV || kek.Tenant != tenant {
		t.Fatalf("default product %+v template CVN %d embosser %+v KEK %+v", p, tpl.CVN, emb, kek)
	}
	if _, err := a.db.Layout(ctx, tenant, p.LayoutID); err != nil {
		t.Fatalf("layout: %v", err)
	}
	zpkRef, err := a.db.AcquirerZPK(ctx, sandboxAcquirerID)
	zpk, _ := a.hsm.KeyInfo(ctx, zpkRef, 0)
	if err != nil || zpk.Type != emv.KeyZPK || zpk.KCV != sandboxZPKKCV || zpk.Tenant != "" {
		t.Fatalf("sandbox acquirer ZPK %+v, %v", zpk, err)
	}

	// A restart seeds nothing twice and prints nothing.
	before, _ := a.hsm.ListKeys(ctx, emv.KeyFilter{})
	tpls, _, _ = a.db.Templates(ctx, tenant, issuance.PageRequest{Limit: 100}) // with the copies made above
	out.Reset()
	if _, err := newService(ctx, a); err != nil {
		t.Fatal(err)
	}
	secret, err = bootstrapSandbox(ctx, a)
	if err != nil || secret != "" || out.Len() != 0 {
		t.Fatalf("restart: %q %v, printed %q", secret, err, out.String())
	}
	after, _ := a.hsm.ListKeys(ctx, emv.KeyFilter{})
	tpls2, _, _ := a.db.Templates(ctx, tenant, issuance.PageRequest{Limit: 100})
	if len(after) != len(before) || len(tpls2) != len(tpls) {
		t.Fatalf("restart created keys (%d -> %d) or templates (%d -> %d)", len(before), len(after), len(tpls), len(tpls2))
	}
}

func TestSeedSandboxTenantResumesWithExistingKeys(t *testing.T) {
	a, out := sandboxApp(t)
	ctx := context.Background()
	ten, _, err := a.svc.CreateTenant(ctx, "Half seeded", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A previous run made the IMK-AC and stopped.
	imk, err := a.hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: emv.KeyIMKAC, Tenant: ten.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.AssignTenantKeyRole(ctx, ten.ID, "imk-ac", imk.Ref); err != nil {
		t.Fatal(err)
	}
	d := seedDepsOf(a)
	if err := seedSandboxTenant(ctx, d, ten.ID, out); err != nil {
		t.Fatal(err)
	}
	tpls, _, _ := a.db.Templates(ctx, ten.ID, issuance.PageRequest{})
	if len(tpls) != 7 || tpls[0].IMKACRef != imk.Ref {
		t.Fatalf("templates %d, IMK-AC %s; want 7 with %s", len(tpls), tpls[0].IMKACRef, imk.Ref)
	}
	imks, _ := a.hsm.ListKeys(ctx, emv.KeyFilter{Type: emv.KeyIMKAC, Tenant: ten.ID})
	if len(imks) != 1 {
		t.Fatalf("%d IMK-AC keys, want the one from the first run", len(imks))
	}
	// Two tenants seeded concurrently (two instances starting) stay apart.
	t2, _, _ := a.svc.CreateTenant(ctx, "Second", true, nil)
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- seedSandboxTenant(ctx, d, t2.ID, &bytes.Buffer{}) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	prds, _, _ := a.db.Products(ctx, t2.ID, issuance.ProductFilter{})
	keys, _ := a.hsm.ListKeys(ctx, emv.KeyFilter{Tenant: t2.ID})
	if len(prds) != 1 || len(keys) != len(sandboxTenantKeys) {
		t.Fatalf("concurrent seeding: %d products, %d keys", len(prds), len(keys))
	}
}

func TestTenantsCreateSandboxSeeds(t *testing.T) {
	getenv, url, mk := cliEnv(t, "sandbox")
	out := cliOK(t, getenv, "tenants", "create", "--name", "Integrator", "--sandbox")
	if !strings.Contains(out, "seeded") || !strings.Contains(out, "platform keys") || !strings.Contains(out, "KCV "+sandboxKEKKCV) {
		t.Fatalf("output:\n%s", out)
	}
	db, _ := openCLIStore(t, url, mk)
	ts, _ := db.Tenants(context.Background())
	if len(ts) != 1 {
		t.Fatalf("tenants %+v", ts)
	}
	prds, _, err := db.Products(context.Background(), ts[0].ID, issuance.ProductFilter{})
	if err != nil || len(prds) != 1 || prds[0].Status != issuance.ProductActive {
		t.Fatalf("products %+v %v", prds, err)
	}
	// A non-sandbox tenant gets nothing.
	out = cliOK(t, getenv, "tenants", "create", "--name", "Production")
	if strings.Contains(out, "seeded") {
		t.Fatalf("non-sandbox tenant seeded:\n%s", out)
	}
	roles := cliOK(t, getenv, "keys", "roles")
	if strings.Contains(roles, "(unassigned)") {
		t.Fatalf("roles after sandbox seeding:\n%s", roles)
	}
}
