package console

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/host"
)

// TestEveryReasonInPlainWords: the live stream and the overview explain
// every reason the host gives.
func TestEveryReasonInPlainWords(t *testing.T) {
	for _, r := range host.Reasons() {
		if w, ok := plainWords[r]; !ok || w == "" {
			t.Errorf("reason %s has no plain words (reasons.go)", r)
		}
	}
}

// TestVendoredScripts: the embedded scripts are the recorded npm files,
// each with its licence, and the layout loads exactly them.
func TestVendoredScripts(t *testing.T) {
	want := map[string]string{
		"htmx-2.0.11.min.js":        "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
		"htmx-ext-sse-2.2.4.min.js": "98a46496de0c3605fbffdce9167ba427bdd9553184f83f149c261891a92c0136",
	}
	readme, err := fs.ReadFile(files, "static/vendor/README.md")
	if err != nil {
		t.Fatal(err)
	}
	layout, err := fs.ReadFile(files, "templates/layout.html")
	if err != nil {
		t.Fatal(err)
	}
	for name, sum := range want {
		b, err := fs.ReadFile(files, "static/vendor/"+name)
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != sum || !strings.Contains(string(readme), sum) {
			t.Errorf("%s: SHA-256 %x, recorded %s (and in static/vendor/README.md)", name, got, sum)
		}
		lic := strings.TrimSuffix(name, ".min.js") + ".LICENSE"
		if l, err := fs.ReadFile(files, "static/vendor/"+lic); err != nil || !strings.Contains(string(l), "Permission to use, copy, modify") {
			t.Errorf("%s has no licence file %s", name, lic)
		}
		if !strings.Contains(string(layout), `src="/console/static/vendor/`+name+`"`) {
			t.Errorf("the layout does not load %s", name)
		}
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{1234, "USD", "12.34 USD"}, {5, "840", "0.05 USD"}, {-250, "EUR", "-2.50 EUR"}, {1500, "JPY", "1500 JPY"}, {7, "XYZ", "7 XYZ (minor units)"},
	} {
		if got := money(tc.amount, tc.currency); got != tc.want {
			t.Errorf("money(%d, %s) = %q, want %q", tc.amount, tc.currency, got, tc.want)
		}
	}
}

// TestTimeline: captures and reversals sit under their original, oldest
// first; records stay newest first.
func TestTimeline(t *testing.T) {
	a := &host.Authorization{ID: "auth_1"}
	b := &host.Authorization{ID: "auth_2"}
	capA := &host.Authorization{ID: "auth_3", OriginalID: "auth_1"}
	revA := &host.Authorization{ID: "auth_4", OriginalID: "auth_1"}
	orphan := &host.Authorization{ID: "auth_5", OriginalID: "auth_0"}
	got := timeline([]*host.Authorization{orphan, revA, capA, b, a}) // newest first, as listed
	if len(got) != 3 || got[0].ID != "auth_5" || got[1].ID != "auth_2" || got[2].ID != "auth_1" {
		t.Fatalf("roots %v", got)
	}
	if len(got[2].Then) != 2 || got[2].Then[0].ID != "auth_3" || got[2].Then[1].ID != "auth_4" {
		t.Fatalf("auth_1's timeline: %v", got[2].Then)
	}
}

// TestOverviewLayout: the hour is laid out minute by minute; minutes
// without requests are zero and the bars scale to the largest.
func TestOverviewLayout(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 30, 20, 0, time.UTC)
	since := now.Truncate(time.Minute).Add(-overviewWindow + time.Minute)
	act := host.Activity{Minutes: []host.ActivityMinute{
		{Minute: since, Requests: 10, Approved: 5, P95: 2 * time.Millisecond},
		{Minute: since.Add(58 * time.Minute), Requests: 120, Approved: 120, P95: 4 * time.Millisecond},
	}, Declines: []host.ReasonCount{{Reason: host.ReasonCardFrozen, Count: 4}, {Reason: host.ReasonPINInvalid, Count: 1}}}
	p := buildOverview(act, since, now)
	if p.Requests != 130 || p.Approved != 125 || p.LastPerSecond != "2.000" || p.PerSecond != "0.036" {
		t.Fatalf("totals %+v", p)
	}
	reqs := p.Charts[0]
	if len(reqs.Bars) != 60 || reqs.Bars[58].H != float64(reqs.Height) || reqs.Bars[0].H != float64(reqs.Height)/12 || reqs.Bars[30].H != 0 {
		t.Fatalf("request bars: %d, %v %v %v", len(reqs.Bars), reqs.Bars[58].H, reqs.Bars[0].H, reqs.Bars[30].H)
	}
	if rate := p.Charts[1]; rate.Max != "100" || rate.Bars[0].H != float64(rate.Height)/2 {
		t.Fatalf("approval bars scale to 100%%: %v, %v", rate.Max, rate.Bars[0].H)
	}
	if len(p.Declines) != 2 || p.Declines[0].Width != 100 || p.Declines[1].Width != 25 {
		t.Fatalf("declines %+v", p.Declines)
	}
}

// TestDecidedBy: who decided, in the stream's words.
func TestDecidedBy(t *testing.T) {
	for _, tc := range []struct {
		a    host.Authorization
		want string
	}{
		{host.Authorization{Kind: host.KindAuthorization}, "cardhost"},
		{host.Authorization{Kind: host.KindAuthorization, DecidedBy: host.DecidedByHost}, "cardhost"},
		{host.Authorization{Kind: host.KindAuthorization, DecidedBy: host.DecidedByIssuer}, "issuer"},
		{host.Authorization{Kind: host.KindFinancial, DecidedBy: host.DecidedByIssuerTimeout}, "issuer's default action (endpoint timed out)"},
		{host.Authorization{Kind: host.KindAuthorization, DecidedBy: host.DecidedByStandIn}, "issuer's default action (no time to ask)"},
		{host.Authorization{Kind: host.KindAdvice}, "network (stand-in)"},
	} {
		if got := decidedBy(&tc.a); got != tc.want {
			t.Errorf("%v decided by %q: %q, want %q", tc.a.Kind, tc.a.DecidedBy, got, tc.want)
		}
	}
}
