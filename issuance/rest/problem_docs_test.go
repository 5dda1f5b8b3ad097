package rest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// notAnswered are slugs of the domain that no REST answer carries, with
// the reason.
var notAnswered = map[string]string{
	"embossing_failed":    "an order's last_error_slug (the embosser failed the card), never a problem",
	"bin_range_conflict":  "operator CLI only (cardhost tenants add-bin)",
	"bin_range_in_use":    "operator CLI only (cardhost tenants remove-bin)",
	"bin_range_not_found": "operator CLI only (cardhost tenants remove-bin)",
}

// domainSlugs returns the values of the Slug* string constants declared in
// the packages' non-test files.
func domainSlugs(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkgs {
			ast.Inspect(p, func(n ast.Node) bool {
				vs, ok := n.(*ast.ValueSpec)
				if !ok {
					return true
				}
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Slug") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out[v] = dir + "." + name.Name
					}
				}
				return true
			})
		}
	}
	return out
}

// TestEverySlugHasStatus: every slug the domain declares is in the problem
// table (or listed in notAnswered with a reason), and the table's slugs and
// statuses are exactly the rows of docs/api.md's Errors table.
func TestEverySlugHasStatus(t *testing.T) {
	for slug, name := range domainSlugs(t, "..", "../bins", "../subaccount") {
		if _, ok := slugStatus[slug]; !ok && notAnswered[slug] == "" {
			t.Errorf("%s (%q) has no status in slugStatus (problem.go)", name, slug)
		}
	}
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Errors\n")
	if !ok {
		t.Fatal("docs/api.md has no Errors section")
	}
	documented := map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (\\d{3}) \\|").FindAllStringSubmatch(section, -1) {
		documented[m[1]], _ = strconv.Atoi(m[2])
	}
	for slug, status := range slugStatus {
		if documented[slug] != status {
			t.Errorf("docs/api.md's Errors table has %q as %d, the problem table as %d", slug, documented[slug], status)
		}
	}
	for slug := range documented {
		if _, ok := slugStatus[slug]; !ok {
			t.Errorf("docs/api.md's Errors table lists %q, which no answer carries", slug)
		}
	}
}
