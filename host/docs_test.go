package host

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryReason keeps docs/iso8583.md section 8 true: every
// reason appears with its response code.
func TestDocsListEveryReason(t *testing.T) {
	b, err := os.ReadFile("../docs/iso8583.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range Reasons() {
		row := "| `" + string(r) + "` | "
		i := strings.Index(doc, row)
		if i < 0 {
			t.Errorf("docs/iso8583.md does not list reason %s", r)
			continue
		}
		code := doc[i+len(row) : i+len(row)+2]
		if r != ReasonStandInDecline && code != string(r.Code()) {
			t.Errorf("docs/iso8583.md gives %s code %s, the table says %s", r, code, r.Code())
		}
	}
}

// TestDocsListLoggedDeclines keeps docs/operations.md "Logged declines"
// true: every decline the engine logs appears with its level and message.
func TestDocsListLoggedDeclines(t *testing.T) {
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for r, l := range declineLogs {
		row := "| `" + string(r) + "` | " + l.level.String() + " | `" + l.msg + "` |"
		if !strings.Contains(doc, row) {
			t.Errorf("docs/operations.md does not list %s as %q", r, row)
		}
	}
}
