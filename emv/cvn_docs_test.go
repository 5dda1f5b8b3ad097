package emv_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
)

// cvnListInText finds the lists of supported CVNs as the docs, help texts
// and messages write them, "Visa 10, 18, 22; Mastercard 16, 17, 20, 21;
// UnionPay 1",
// possibly broken across lines and comment markers. (A subset names its
// CVNs with the word CVN, "Visa CVN 18, 22", and is not a list of what is
// supported.)
var cvnListInText = regexp.MustCompile(`Visa (\d+(?:, \d+)+); Mastercard (\d+(?:, \d+)+)(?:; UnionPay (\d+(?:, \d+)*))?`)

// TestCVNListsFollowTheRegistry fails when a list of supported CVNs in the
// repository (docs, README, Go sources and their help texts) names other
// CVNs than the registry: the registry is the one source, and every list is
// either emv.CVNList() or kept equal to it here.
func TestCVNListsFollowTheRegistry(t *testing.T) {
	if got, want := emv.CVNList(), "Visa 10, 18, 22; Mastercard 16, 17, 20, 21; UnionPay 1"; got != want {
		t.Fatalf("CVNList() = %q, want %q (update the docs with the registry)", got, want)
	}
	want := map[emv.Scheme]string{}
	for _, c := range emv.CVNs() {
		want[c.Scheme] += " " + strconv.Itoa(c.Number)
	}
	root := filepath.Join("..")
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".md") && !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := normalise(string(b))
		for _, m := range cvnListInText.FindAllStringSubmatch(text, -1) {
			found++
			if got := numbers(m[1]); got != want[emv.SchemeVisa] {
				t.Errorf("%s: %q lists Visa CVNs%s; the registry has%s", path, m[0], got, want[emv.SchemeVisa])
			}
			if got := numbers(m[2]); got != want[emv.SchemeMastercard] {
				t.Errorf("%s: %q lists Mastercard CVNs%s; the registry has%s", path, m[0], got, want[emv.SchemeMastercard])
			}
			if got := numbers(m[3]); got != want[emv.SchemeUnionPay] {
				t.Errorf("%s: %q lists UnionPay CVNs%s; the registry has%s", path, m[0], got, want[emv.SchemeUnionPay])
			}
		}
		if strings.HasSuffix(path, filepath.Join("docs", "crypto.md")) {
			checkCryptoTable(t, path, string(b), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 5 {
		t.Fatalf("found only %d CVN lists in the repository: the pattern no longer matches the docs", found)
	}
}

// checkCryptoTable compares docs/crypto.md's registry table (one row per
// CVN: "| Visa | 10 | `0A` | ...") with the registry, row for row.
func checkCryptoTable(t *testing.T, path, doc string, want map[emv.Scheme]string) {
	t.Helper()
	row := regexp.MustCompile("(?m)^\\| (Visa|Mastercard|UnionPay) \\| (\\d+) \\| `([0-9A-F]{2})` \\|")
	got := map[emv.Scheme]string{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		s := emv.Scheme(strings.ToLower(m[1]))
		got[s] += " " + m[2]
		n, _ := strconv.Atoi(m[2])
		c, err := emv.LookupCVN(string(s), n)
		if err != nil {
			t.Errorf("%s: row %s CVN %s is not in the registry", path, m[1], m[2])
			continue
		}
		if code := fmt.Sprintf("%02X", c.Code); code != m[3] {
			t.Errorf("%s: %s CVN %s has 9F10 byte %s; the registry has %s", path, m[1], m[2], m[3], code)
		}
	}
	for s, w := range want {
		if got[s] != w {
			t.Errorf("%s: the registry table lists %s CVNs%s; the registry has%s", path, s, got[s], w)
		}
	}
}

// normalise joins lines and drops comment markers and table pipes, so that
// a list broken across lines still matches.
func normalise(s string) string {
	s = strings.NewReplacer("\n//", " ", "\n", " ", "\t", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// numbers turns "10, 18 and 22" into " 10 18 22".
func numbers(list string) string {
	var out string
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r < '0' || r > '9' }) {
		out += " " + f
	}
	return out
}
