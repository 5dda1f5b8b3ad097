package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/cardhost/cardhost"

// rule says what one package may import: cardhost packages (by path below
// the module) and third-party module prefixes. The standard library is
// always allowed. This is CONVENTIONS.md's dependency table as data.
type rule struct {
	internal []string
	external []string
}

var (
	moovISO  = "github.com/moov-io/iso8583"
	moovConn = "github.com/moov-io/iso8583-connection"
	pgx      = "github.com/jackc/pgx/v5"
	fiber    = "github.com/gofiber/fiber/v2"
	franz    = "github.com/twmb/franz-go"
	prom     = "github.com/prometheus/client_golang"
	yaml     = "gopkg.in/yaml.v3"
	// emvLeafs are the leaves every package above the leaves may import;
	// iso/digit (digit strings and Luhn) is one of them and the one
	// cardhost package iso, emv and emv/pinblock may share.
	emvLeafs = []string{"emv", "emv/tlv", "emv/pinblock", "iso/digit"}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var dependencyRules = map[string]rule{
	// leaves
	"iso":              {[]string{"iso/digit"}, []string{moovISO}},
	"iso/digit":        {nil, nil},
	"emv":              {[]string{"emv/tlv", "emv/pinblock", "emv/internal/dea", "iso/digit"}, nil},
	"emv/internal/dea": {nil, nil}, // cardhost's own DES (issue 17): standard library only
	"emv/tlv":          {nil, nil},
	"emv/pinblock":     {[]string{"iso/digit"}, nil},
	"emv/calc":         {[]string{"emv", "emv/tlv", "emv/pinblock"}, nil},
	"kafka":            {nil, nil},
	// issuance/httpsig is RFC 9421 request signing, standard library only.
	"issuance/httpsig": {nil, nil},
	// issuance/whsig is Standard Webhooks signing, standard library only.
	"issuance/whsig": {nil, nil},
	// domain
	// issuance/dataprep is pure card-data generation (PAN, expiry, track 2,
	// personalisation records) over emv: a leaf the domain uses, not an
	// adapter (a deliberate change from CONVENTIONS.md; docs/architecture.md).
	"issuance/dataprep": {emvLeafs, nil},
	"issuance":          {join(emvLeafs, []string{"kafka", "issuance/alias", "issuance/bins", "issuance/dataprep", "issuance/isocode", "issuance/lifecycle"}), nil},
	// issuance/alias is the seed guides' alias table and the one strict
	// decoder of request bodies: the standard library and the leaf
	// isocode (a guide's nationality is checked as an ISO 3166-1 code).
	"issuance/alias": {[]string{"issuance/isocode"}, nil},
	// issuance/lifecycle is the lifecycle rules as pure functions (validity,
	// dynamic CVV2 counter, expiration_date bounds): a leaf like dataprep,
	// read by issuance and the host.
	"issuance/lifecycle": {join(emvLeafs, []string{"issuance/dataprep"}), nil},
	"issuance/isocode":   {nil, nil},
	// issuance/bins is the BIN-range vocabulary issuance and its catalog share.
	"issuance/bins":    {[]string{"iso/digit"}, nil},
	"issuance/ca":      {[]string{"issuance", "kafka"}, nil},
	"issuance/catalog": {join(emvLeafs, []string{"issuance", "issuance/bins", "issuance/cvv2", "issuance/ledger"}), nil},
	// issuance/cvv2 holds the card-not-present CVV2 rules and the reset of
	// a card's CVV2 tries: a room beside issuance, read by the host.
	"issuance/cvv2": {[]string{"issuance", "issuance/lifecycle", "kafka"}, nil},
	// issuance/reissue is card reissue: a room beside issuance, like cvv2.
	"issuance/reissue": {join(emvLeafs, []string{"issuance", "issuance/dataprep", "issuance/lifecycle", "kafka"}), nil},
	// issuance/subaccount holds sub-accounts and x-on-behalf-of: a room
	// beside issuance.
	"issuance/subaccount": {[]string{"issuance", "kafka"}, nil},
	// issuance/ledger is the money domain: a room beside issuance, below host.
	"issuance/ledger": {join(emvLeafs, []string{"issuance", "kafka"}), nil},
	"host":            {join(emvLeafs, []string{"host/merchantguard", "issuance", "issuance/cvv2", "issuance/ledger", "issuance/lifecycle", "issuance/whsig", "iso", "kafka"}), nil},
	// issuance/webhook is the domain of webhooks and the Events API, a
	// room beside issuance like catalog and ca.
	"issuance/webhook": {join(emvLeafs, []string{"issuance", "issuance/whsig", "kafka"}), nil},
	// adapters
	"emv/softhsm":              {emvLeafs, nil},
	"issuance/postgres":        {join(emvLeafs, []string{"issuance", "issuance/bins", "issuance/ca", "issuance/cvv2", "issuance/ledger", "issuance/lifecycle", "host", "iso", "kafka"}), []string{pgx}},
	"issuance/postgres/pgtest": {[]string{"issuance/postgres"}, []string{pgx}},
	"issuance/rest":            {join(emvLeafs, []string{"issuance", "issuance/alias", "issuance/bins", "issuance/ca", "issuance/catalog", "issuance/cvv2", "issuance/reissue", "issuance/dataprep", "issuance/httpsig", "issuance/ledger", "issuance/rest/reference", "issuance/subaccount", "issuance/webhook", "host", "iso", "kafka"}), []string{fiber, prom}},
	// issuance/rest/reference is the /docs page: the vendored renderer and
	// the server-rendered fallback, standard library only.
	"issuance/rest/reference": {nil, nil},
	// issuance/console is the operator console: an HTTP adapter beside
	// issuance/rest (never importing it: the wiring hands it the REST
	// server through its own small interface).
	"issuance/console": {[]string{"issuance", "issuance/catalog", "issuance/isocode", "issuance/ledger", "issuance/webhook", "host", "kafka"}, []string{fiber}},
	// issuance/webhook/postgres builds on issuance/postgres as
	// host/postgres does (CONVENTIONS.md's split rule).
	"issuance/webhook/postgres": {[]string{"issuance", "issuance/postgres", "issuance/webhook", "kafka"}, []string{pgx}},
	"issuance/webhook/sender":   {[]string{"issuance/webhook"}, []string{prom}},
	"issuance/emboss":           {join(emvLeafs, []string{"issuance", "issuance/dataprep"}), nil},
	"host/isoserver":            {join(emvLeafs, []string{"host", "iso"}), []string{prom}}, // iso.FieldValues on the hot path: moov only in its tests
	"host/merchantguard":        {[]string{"kafka"}, nil},
	"host/postgres":             {[]string{"host", "iso", "issuance", "issuance/ledger", "issuance/postgres", "kafka"}, []string{pgx}},
	"kafka/outbox":              {[]string{"kafka", "kafka/internal/kgolog", "kafka/internal/wire"}, []string{franz, prom}},
	"kafka/embedded":            {[]string{"kafka", "kafka/internal/kgolog"}, []string{franz}},
	"kafka/consume":             {[]string{"kafka", "kafka/internal/wire"}, []string{franz}},
	"kafka/internal/kgolog":     {nil, []string{franz}},
	"kafka/internal/wire":       {[]string{"kafka"}, []string{franz}},

	// termsim's packages beside their command: clients of the host that
	// know it only over TCP and HTTP, so never host or its subpackages.
	"cmd/termsim/terminal":              {join(emvLeafs, []string{"iso"}), []string{moovISO, moovConn, yaml}},
	"cmd/termsim/terminal/terminaltest": {join(emvLeafs, []string{"iso", "cmd/termsim/terminal"}), []string{moovISO}},
	"cmd/termsim/loadgen":               {join(emvLeafs, []string{"iso", "cmd/termsim/terminal"}), []string{moovISO, moovConn, yaml}},
	"cmd/termsim/scenario":              {join(emvLeafs, []string{"iso", "kafka", "kafka/consume", "cmd/termsim/terminal", "cmd/termsim/decider", "cmd/internal/yamlpos"}), []string{moovISO, moovConn, yaml}},
	// cmd/termsim/decider is the local decision endpoint: HTTP and the
	// Standard Webhooks verifier only.
	"cmd/termsim/decider": {[]string{"issuance/whsig"}, nil},
}

// domainForbidden are what domain and leaf packages must never import.
var domainForbidden = []string{fiber, pgx, franz, prom, moovConn}

// TestDependencyDirection fails when a package imports what CONVENTIONS.md's
// table does not allow (a domain package importing fiber, pgx, franz-go or
// an adapter; adapters importing each other), or when a package is missing
// from the table.
func TestDependencyDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if strings.HasPrefix(rel, "cmd/") && !strings.HasPrefix(rel, "cmd/termsim/") {
			continue // mains wire everything; termsim's library packages are checked
		}
		r, ok := dependencyRules[rel]
		if !ok {
			t.Errorf("package %s is not in the dependency table (cmd/cardhost/layout_test.go): add it with what it may import", rel)
			continue
		}
		seen++
		domain := !strings.Contains(rel, "/") || rel == "emv/tlv" || rel == "emv/pinblock" || rel == "issuance/dataprep" || rel == "issuance/isocode" || rel == "issuance/bins" || rel == "issuance/ca" || rel == "issuance/catalog" || rel == "issuance/ledger" || rel == "issuance/cvv2" || rel == "iso/digit" || rel == "issuance/httpsig" || rel == "issuance/whsig" || rel == "issuance/webhook" || rel == "issuance/alias"
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/") {
				target := strings.TrimPrefix(imp, module+"/")
				if !contains(r.internal, target) {
					t.Errorf("%s imports %s, which the dependency table does not allow", rel, target)
				}
				continue
			}
			if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				continue // standard library
			}
			if domain {
				for _, f := range domainForbidden {
					if strings.HasPrefix(imp, f) {
						t.Errorf("domain package %s imports %s", rel, imp)
					}
				}
			}
			if !hasPrefix(r.external, imp) {
				t.Errorf("%s imports third-party %s, which the dependency table does not allow", rel, imp)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d packages checked: go list output not understood", seen)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasPrefix(prefixes []string, s string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}

// TestTopLevelLayout keeps the repository's top level exactly as fixed:
// host issuance iso emv kafka cmd testdata go.mod README.md, plus go.sum,
// .ci, docs, LICENSE, Makefile and dotfiles. It looks at what git tracks.
func TestTopLevelLayout(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	allowed := map[string]bool{"host": true, "issuance": true, "iso": true, "emv": true, "kafka": true, "cmd": true,
		"testdata": true, "go.mod": true, "README.md": true, "go.sum": true, "docs": true, "LICENSE": true, "Makefile": true}
	bad := map[string]bool{}
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		top := strings.SplitN(f, "/", 2)[0]
		if top != "" && !strings.HasPrefix(top, ".") && !allowed[top] {
			bad[top] = true
		}
	}
	var got []string
	for k := range bad {
		got = append(got, k)
	}
	sort.Strings(got)
	if len(got) > 0 {
		t.Fatalf("unexpected top-level entries: %v", got)
	}
}
