package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/cardhost/sandbox"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
)

// cliEnv returns the environment of a CLI test: a fresh PostgreSQL schema
// and a temporary master key file, in production mode unless mode is set.
func cliEnv(t *testing.T, mode string) (getenv func(string) string, url, masterKey string) {
	t.Helper()
	url = pgtest.URL(t)
	masterKey = filepath.Join(t.TempDir(), "master.key")
	if _, err := softhsm.GenerateMasterKeyFile(masterKey, nil); err != nil {
		t.Fatal(err)
	}
	if mode == "" {
		mode = "production"
	}
	env := map[string]string{
		"DATABASE_URL": url, "CARDHOST_MASTER_KEY_FILE": masterKey, "CARDHOST_MODE": mode,
		"CARDHOST_LOG_LEVEL": "error", "CARDHOST_DATA_DIR": t.TempDir(),
	}
	return func(k string) string { return env[k] }, url, masterKey
}

// cli runs the program with args.
func cli(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, getenv, &out, &errb)
	return code, out.String(), errb.String()
}

// cliOK runs args and fails the test unless it exits 0.
func cliOK(t *testing.T, getenv func(string) string, args ...string) string {
	t.Helper()
	code, out, errs := cli(t, getenv, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

var refRE = regexp.MustCompile(`key_[a-z2-7]{26}`)

// firstRef returns the first key reference in s.
func firstRef(t *testing.T, s string) string {
	t.Helper()
	r := refRE.FindString(s)
	if r == "" {
		t.Fatalf("no key reference in %q", s)
	}
	return r
}

// openCLIStore opens the database and HSM the CLI used, for checks.
func openCLIStore(t *testing.T, url, masterKey string) (*postgres.DB, *softhsm.HSM) {
	t.Helper()
	db, err := postgres.Open(context.Background(), postgres.Config{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	hsm, err := softhsm.New(softhsm.Config{MasterKeyFile: masterKey}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	return db, hsm
}

func TestKeysImportRefusesBadInputAndNeverEchoesComponents(t *testing.T) {
	getenv, url, mk := cliEnv(t, "")
	c1, c2 := sandbox.TransportKEK.Components[0], sandbox.TransportKEK.Components[1]
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no type", []string{"--component", c1, "--component", c2, "--kcv", sandbox.TransportKEK.KCV}, "--type is required"},
		{"no kcv", []string{"--type", "KEK", "--component", c1, "--component", c2}, "--kcv"},
		{"no components", []string{"--type", "KEK", "--kcv", sandbox.TransportKEK.KCV}, "at least one --component"},
		{"one component", []string{"--type", "KEK", "--component", c1, "--kcv", "233155"}, "invalid input"},
		{"not hex", []string{"--type", "KEK", "--component", "XY" + c1[2:], "--component", c2, "--kcv", sandbox.TransportKEK.KCV}, "component 1 is not hex"},
		{"wrong combined KCV", []string{"--type", "KEK", "--component", c1, "--component", c2, "--kcv", "000000"}, "check value mismatch"},
		{"wrong component KCV", []string{"--type", "KEK", "--component", c1, "--component", c2, "--kcv", sandbox.TransportKEK.KCV, "--component-kcv", "233155", "--component-kcv", "111111"}, "component 2"},
		{"KCV count", []string{"--type", "KEK", "--component", c1, "--component", c2, "--kcv", sandbox.TransportKEK.KCV, "--component-kcv", "233155"}, "1 --component-kcv for 2 --component"},
		{"wrong length for the type", []string{"--type", "ZPK", "--component", c1, "--component", c2, "--kcv", sandbox.TransportKEK.KCV}, "component 1 has 32 bytes"},
		{"TDES halves equal", []string{"--type", "ZPK", "--component", "0123456789ABCDEF0123456789ABCDEF", "--component", strings.Repeat("0", 32), "--kcv", "D5D44F"}, "equal halves"},
		{"unknown type", []string{"--type", "IMK-XYZ", "--component", c1, "--component", c2, "--kcv", sandbox.TransportKEK.KCV}, "spec not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := cli(t, getenv, append([]string{"keys", "import"}, tc.args...)...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
			for _, c := range []string{c1, c2, c1[2:], strings.ToLower(c1)} {
				if strings.Contains(out+errs, c) {
					t.Fatal("a component was echoed")
				}
			}
		})
	}
	// Nothing was stored by the refused ceremonies.
	_, hsm := openCLIStore(t, url, mk)
	if keys, err := hsm.ListKeys(context.Background(), emv.KeyFilter{}); err != nil || len(keys) != 0 {
		t.Fatalf("%d keys after refused imports (%v)", len(keys), err)
	}
}

func TestKeysCeremonies(t *testing.T) {
	getenv, url, mk := cliEnv(t, "")
	ctx := context.Background()

	// Import the KEK and the ZPK from published components (spaces between
	// groups are allowed, as printed on component forms).
	out := cliOK(t, getenv, "keys", "import", "--type", "KEK", "--component", sandbox.TransportKEK.Components[0], "--component", sandbox.TransportKEK.Components[1],
		"--component-kcv", sandbox.TransportKEK.ComponentKCVs[0], "--component-kcv", sandbox.TransportKEK.ComponentKCVs[1], "--kcv", sandbox.TransportKEK.KCV, "--label", "transport")
	kek := firstRef(t, out)
	if !strings.Contains(out, "KCV "+sandbox.TransportKEK.KCV) || strings.Contains(out, sandbox.TransportKEK.Components[0]) {
		t.Fatalf("import output %q", out)
	}
	spaced := strings.Join([]string{sandbox.AcquirerZPK.Components[0][:16], sandbox.AcquirerZPK.Components[0][16:]}, " ")
	out = cliOK(t, getenv, "keys", "import", "--type", "ZPK", "--component", spaced, "--component", sandbox.AcquirerZPK.Components[1], "--component", sandbox.AcquirerZPK.Components[2],
		"--component-kcv", "CAEB AA", "--component-kcv", "DF9B9A", "--component-kcv", "83EBC1", "--kcv", "DDA8")
	zpk := firstRef(t, out)
	if !strings.Contains(out, "KCV "+sandbox.AcquirerZPK.KCV) {
		t.Fatalf("ZPK import output %q", out)
	}

	// Generate, list, filter by tenant.
	cvk := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "CVK", "--tenant", "ten_a", "--label", "issuer A CVK"))
	if code, _, errs := cli(t, getenv, "keys", "generate", "--type", "NOPE"); code != 2 || !strings.Contains(errs, "spec not allowed") {
		t.Fatalf("unknown type: %d %s", code, errs)
	}
	if code, _, _ := cli(t, getenv, "keys", "generate"); code != 2 {
		t.Fatalf("generate without --type: %d", code)
	}
	list := cliOK(t, getenv, "keys", "list")
	for _, want := range []string{kek, zpk, cvk, sandbox.TransportKEK.KCV, sandbox.AcquirerZPK.KCV, "(shared)", "ten_a", "issuer A CVK", "KCV"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	tenantList := cliOK(t, getenv, "keys", "list", "--tenant", "ten_a")
	if !strings.Contains(tenantList, cvk) || strings.Contains(tenantList, kek) {
		t.Fatalf("tenant filter:\n%s", tenantList)
	}

	// Export the CVK under the KEK: the block opens with the KEK's clear
	// value and holds a key with the CVK's check value.
	out = cliOK(t, getenv, "keys", "export", "--ref", cvk, "--under", kek)
	block := regexp.MustCompile(`D\d{4}[0-9A-Z]+`).FindString(out)
	kekClear, _ := hex.DecodeString(sandbox.TransportKEK.Clear)
	hdr, clear, err := softhsm.UnwrapTR31(kekClear, block)
	if err != nil {
		t.Fatalf("opening the exported block %q: %v", block, err)
	}
	kcv, _ := emv.KCV(emv.AlgorithmTDES, clear)
	_, hsm := openCLIStore(t, url, mk)
	info, _ := hsm.KeyInfo(ctx, cvk, 0)
	if hdr.Usage != "C0" || emv.EncodeHex(kcv) != info.KCV || !strings.Contains(out, "KCV "+info.KCV) {
		t.Fatalf("exported %s with KCV %X, want C0 and %s (%q)", hdr.Usage, kcv, info.KCV, out)
	}
	for _, tc := range []struct{ name, ref, under string }{
		{"the KEK itself", kek, kek},
		{"under a non-KEK", cvk, zpk},
		{"unknown key", "key_aaaaaaaaaaaaaaaaaaaaaaaaaa", kek},
	} {
		if code, _, errs := cli(t, getenv, "keys", "export", "--ref", tc.ref, "--under", tc.under); code != 2 {
			t.Errorf("export %s: exit %d (%s)", tc.name, code, errs)
		}
	}

	// Rotate: a new active version, the old one usable for 30 days.
	out = cliOK(t, getenv, "keys", "rotate", "--ref", cvk, "--retire-after", "30d")
	if !strings.Contains(out, "version 2 active") || !strings.Contains(out, "version 1 retired") {
		t.Fatalf("rotate output %q", out)
	}
	v1, err := hsm.KeyInfo(ctx, cvk, 1)
	if err != nil || v1.Status != emv.KeyRetired || v1.UsableUntil.Sub(time.Now()) < 29*24*time.Hour || v1.UsableUntil.Sub(time.Now()) > 31*24*time.Hour {
		t.Fatalf("retired version: %+v %v", v1, err)
	}
	if code, _, _ := cli(t, getenv, "keys", "rotate", "--ref", cvk, "--retire-after", "soon"); code != 2 {
		t.Fatal("bad --retire-after accepted")
	}
	if code, _, _ := cli(t, getenv, "keys", "rotate", "--ref", "key_aaaaaaaaaaaaaaaaaaaaaaaaaa"); code != 2 {
		t.Fatal("rotating an unknown key")
	}
}

func TestKeysAssignAndRoles(t *testing.T) {
	getenv, url, mk := cliEnv(t, "")
	ca := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "CA"))
	ca2 := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "CA"))
	dek := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "PAN-DEK"))
	dek2 := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "PAN-DEK"))
	tenantCA := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "CA", "--tenant", "ten_a"))

	roles := cliOK(t, getenv, "keys", "roles")
	if strings.Count(roles, "(unassigned)") != 4 {
		t.Fatalf("fresh roles:\n%s", roles)
	}
	cliOK(t, getenv, "keys", "assign", "--role", "ca", "--ref", ca)
	cliOK(t, getenv, "keys", "assign", "--role", "pan-dek", "--ref", dek)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown role", []string{"--role", "root", "--ref", ca}, "unknown role"},
		{"wrong type", []string{"--role", "ecdh", "--ref", ca}, "needs a ECDH key"},
		{"tenant key", []string{"--role", "ca", "--ref", tenantCA}, "shared key"},
		{"unknown key", []string{"--role", "ca", "--ref", "key_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, "not found"},
		{"moving pan-dek", []string{"--role", "pan-dek", "--ref", dek2}, "cannot move"},
		{"missing ref", []string{"--role", "ca"}, "--role and --ref are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := cli(t, getenv, append([]string{"keys", "assign"}, tc.args...)...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d %q, want 2 and %q", code, errs, tc.want)
			}
		})
	}
	// The CA may move (certificates already issued stay valid).
	cliOK(t, getenv, "keys", "assign", "--role", "ca", "--ref", ca2)
	cliOK(t, getenv, "keys", "assign", "--role", "pan-dek", "--ref", dek) // same key: no change
	roles = cliOK(t, getenv, "keys", "roles")
	if !strings.Contains(roles, ca2) || strings.Contains(roles, " "+ca+" ") || !strings.Contains(roles, dek) || strings.Count(roles, "(unassigned)") != 2 {
		t.Fatalf("roles:\n%s", roles)
	}
	db, _ := openCLIStore(t, url, mk)
	keys, err := db.SystemKeys(context.Background())
	if err != nil || keys.CA != ca2 || keys.PANDEK != dek || keys.ECDH != "" {
		t.Fatalf("SystemKeys = %+v, %v", keys, err)
	}
}

func TestAcquirersCommand(t *testing.T) {
	getenv, url, mk := cliEnv(t, "")
	zpk := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "ZPK"))
	cvk := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "CVK"))
	tenantZPK := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "ZPK", "--tenant", "ten_a"))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"id too long", []string{"--id", "123456789012", "--name", "A", "--zpk-ref", zpk}, "1 to 11 digits"},
		{"id not digits", []string{"--id", "12A", "--name", "A", "--zpk-ref", zpk}, "1 to 11 digits"},
		{"no name", []string{"--id", "1", "--zpk-ref", zpk}, "--name"},
		{"no zpk", []string{"--id", "1", "--name", "A"}, "--zpk-ref"},
		{"not a ZPK", []string{"--id", "1", "--name", "A", "--zpk-ref", cvk}, "not a ZPK key"},
		{"tenant key", []string{"--id", "1", "--name", "A", "--zpk-ref", tenantZPK}, "shared"},
		{"unknown key", []string{"--id", "1", "--name", "A", "--zpk-ref", "key_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, "no active key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := cli(t, getenv, append([]string{"acquirers", "add"}, tc.args...)...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d %q, want 2 and %q", code, errs, tc.want)
			}
		})
	}
	cliOK(t, getenv, "acquirers", "add", "--id", "12345678901", "--name", "Acme Acquiring", "--zpk-ref", zpk)
	if code, _, errs := cli(t, getenv, "acquirers", "add", "--id", "12345678901", "--name", "Again", "--zpk-ref", zpk); code != 2 || !strings.Contains(errs, "exists") {
		t.Fatalf("duplicate: %d %s", code, errs)
	}
	list := cliOK(t, getenv, "acquirers", "list")
	if !strings.Contains(list, "12345678901") || !strings.Contains(list, "Acme Acquiring") || !strings.Contains(list, zpk) {
		t.Fatalf("list:\n%s", list)
	}
	db, _ := openCLIStore(t, url, mk)
	if ref, err := db.AcquirerZPK(context.Background(), "12345678901"); err != nil || ref != zpk {
		t.Fatalf("AcquirerZPK = %s, %v", ref, err)
	}
	if code, _, _ := cli(t, getenv, "acquirers", "remove"); code != 2 {
		t.Fatal("unknown subcommand accepted")
	}
}

// TestTenantsBINRanges: the operator assigns BIN ranges with `cardhost
// tenants add-bin`; a range overlapping another is refused naming it, a
// range is removed only from its own tenant, and `tenants bins` lists them.
func TestTenantsBINRanges(t *testing.T) {
	getenv, _, _ := cliEnv(t, "")
	tenantRE := regexp.MustCompile(`ten_[0-9A-Z]{26}`)
	a := tenantRE.FindString(cliOK(t, getenv, "tenants", "create", "--name", "Issuer A"))
	b := tenantRE.FindString(cliOK(t, getenv, "tenants", "create", "--name", "Issuer B"))
	if out := cliOK(t, getenv, "tenants", "add-bin", "--tenant", a, "--bin", "400000"); !strings.Contains(out, "BIN range 400000 assigned to tenant "+a) {
		t.Fatalf("add-bin printed %q", out)
	}
	cliOK(t, getenv, "tenants", "add-bin", "--tenant", b, "--bin", "400001")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"inside another tenant's range", []string{"add-bin", "--tenant", b, "--bin", "40000018"}, []string{"bin_range_conflict", "400000", a}},
		{"not 6 to 8 digits", []string{"add-bin", "--tenant", b, "--bin", "4000"}, []string{"validation_failed", "prefix"}},
		{"unknown tenant", []string{"add-bin", "--tenant", "ten_00000000000000000000000000", "--bin", "410000"}, []string{"not_found"}},
		{"another tenant's range", []string{"remove-bin", "--tenant", a, "--bin", "400001"}, []string{"bin_range_not_found"}},
		{"no --bin", []string{"add-bin", "--tenant", a}, []string{"missing required flag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := cli(t, getenv, append([]string{"tenants"}, tc.args...)...)
			for _, w := range tc.want {
				if code != 2 || !strings.Contains(errs, w) {
					t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, w)
				}
			}
		})
	}
	all := cliOK(t, getenv, "tenants", "bins")
	if !strings.Contains(all, "400000  "+a) || !strings.Contains(all, "400001  "+b) {
		t.Fatalf("tenants bins:\n%s", all)
	}
	if own := cliOK(t, getenv, "tenants", "bins", "--tenant", b); strings.Contains(own, a) || !strings.Contains(own, "400001") {
		t.Fatalf("tenants bins --tenant B:\n%s", own)
	}
	cliOK(t, getenv, "tenants", "remove-bin", "--tenant", b, "--bin", "400001")
	if own := cliOK(t, getenv, "tenants", "bins", "--tenant", b); strings.Contains(own, "400001") {
		t.Fatalf("removed range still listed:\n%s", own)
	}
}

func TestTenantsCreateSandboxSeeds(t *testing.T) {
	getenv, url, mk := cliEnv(t, "sandbox")
	out := cliOK(t, getenv, "tenants", "create", "--name", "Integrator", "--sandbox")
	if !strings.Contains(out, "seeded") || !strings.Contains(out, "platform keys") || !strings.Contains(out, "KCV "+sandbox.TransportKEK.KCV) {
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
