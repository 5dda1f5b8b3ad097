package iso_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/iso"
)

// specDoc is the host interface specification built from this package.
const specDoc = "../docs/iso8583.md"

// TestSpecDocument keeps docs/iso8583.md true: its field table is the
// package's field table, its response codes are the code table, and its
// examples are the golden messages byte for byte.
func TestSpecDocument(t *testing.T) {
	raw, err := os.ReadFile(specDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)

	section := func(from, to string) string {
		i, j := strings.Index(doc, from), strings.Index(doc, to)
		if i < 0 || j < i {
			t.Fatalf("sections %q .. %q not found", from, to)
		}
		return doc[i:j]
	}

	t.Run("field table", func(t *testing.T) {
		table := section("## 3. Field table", "## 4. Messages")
		row := regexp.MustCompile(`(?m)^\| (\d+) \| (\S+) \| (.+) \|$`)
		got := map[string]string{}
		for _, m := range row.FindAllStringSubmatch(table, -1) {
			got[m[1]] = m[2] + " | " + m[3]
		}
		for _, d := range iso.Fields() {
			want := d.Notation() + " | " + d.Name
			if got[fmt.Sprint(d.ID)] != want {
				t.Errorf("field %d: document has %q, table has %q", d.ID, got[fmt.Sprint(d.ID)], want)
			}
			delete(got, fmt.Sprint(d.ID))
		}
		for id := range got {
			t.Errorf("document lists field %s, which the table does not define", id)
		}
	})

	t.Run("response codes", func(t *testing.T) {
		table := section("## 7. Response codes", "## 8. Decisions and reasons")
		row := regexp.MustCompile(`(?m)^\| (\d\d) \| (.+) \| (yes|no) \|$`)
		rows := row.FindAllStringSubmatch(table, -1)
		if len(rows) != len(iso.ResponseCodes()) {
			t.Errorf("document lists %d codes, the table has %d", len(rows), len(iso.ResponseCodes()))
		}
		for _, m := range rows {
			c := iso.ResponseCode(m[1])
			if !c.Known() || c.Meaning() != m[2] || c.Approved() != (m[3] == "yes") {
				t.Errorf("document row %q disagrees with the code table (%q, approval %v)", m[0], c.Meaning(), c.Approved())
			}
		}
	})

	t.Run("examples", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(goldenDir, "*.hex"))
		if err != nil || len(files) == 0 {
			t.Fatalf("golden files: %v", err)
		}
		examples := doc[strings.Index(doc, "## 9. Examples"):]
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				if !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			block := "```\n" + strings.Join(lines, "\n") + "\n```"
			if !strings.Contains(examples, block) {
				t.Errorf("%s is not shown in the document as it is", filepath.Base(f))
			}
		}
	})
}
