package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv/pinblock"
)

// TestAcquirerSecuritySettings: acquirers add and update set the zone MAC
// key, whether MACs are required (default: yes with a ZAK) and the PIN
// block formats (default 0 and 3); list shows them; bad settings exit 2
// and change nothing (issue 12, points 9 and 10).
func TestAcquirerSecuritySettings(t *testing.T) {
	getenv, url, mk := cliEnv(t, "")
	zpk := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "ZPK"))
	zak := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "ZAK"))
	db, _ := openCLIStore(t, url, mk)
	ctx := context.Background()

	out := cliOK(t, getenv, "acquirers", "add", "--id", "111", "--name", "MAC acquirer", "--zpk-ref", zpk, "--zak-ref", zak)
	if !strings.Contains(out, "MAC required") || !strings.Contains(out, "PIN block formats 0,3") {
		t.Fatalf("add output %q", out)
	}
	cliOK(t, getenv, "acquirers", "add", "--id", "222", "--name", "Plain", "--zpk-ref", zpk, "--pin-formats", "0,1,3")
	a, err := db.Acquirer(ctx, "111")
	if err != nil || a.ZAKRef != zak || !a.MACRequired || fmt.Sprint(a.PINFormats) != fmt.Sprint([]pinblock.Format{0, 3}) {
		t.Fatalf("acquirer 111 = %+v, %v", a, err)
	}
	if b, _ := db.Acquirer(ctx, "222"); b.MACRequired || b.ZAKRef != "" || fmt.Sprint(b.PINFormats) != fmt.Sprint([]pinblock.Format{0, 1, 3}) {
		t.Fatalf("acquirer 222 = %+v", b)
	}
	list := cliOK(t, getenv, "acquirers", "list")
	for _, want := range []string{"MAC", "PIN FORMATS", "required", "0,1,3", zak} {
		if !strings.Contains(list, want) {
			t.Fatalf("list lacks %q:\n%s", want, list)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"MAC required without ZAK", []string{"add", "--id", "333", "--name", "X", "--zpk-ref", zpk, "--mac-required"}, "needs a zone MAC key"},
		{"ZPK as ZAK", []string{"add", "--id", "333", "--name", "X", "--zpk-ref", zpk, "--zak-ref", zpk}, "not a ZAK key"},
		{"format 4", []string{"add", "--id", "333", "--name", "X", "--zpk-ref", zpk, "--pin-formats", "0,4"}, "cannot arrive in field 52"},
		{"format twice", []string{"update", "--id", "111", "--pin-formats", "0,0"}, "twice"},
		{"formats not numbers", []string{"update", "--id", "111", "--pin-formats", "iso0"}, "--pin-formats"},
		{"unknown acquirer", []string{"update", "--id", "999", "--name", "Y"}, "no acquirer 999"},
		{"nothing to update", []string{"update", "--id", "111"}, "nothing to update"},
		{"MAC required, ZAK removed", []string{"update", "--id", "111", "--zak-ref", "", "--mac-required"}, "needs a zone MAC key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := cli(t, getenv, append([]string{"acquirers"}, tc.args...)...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d %q, want 2 and %q", code, errs, tc.want)
			}
		})
	}
	if a2, _ := db.Acquirer(ctx, "111"); fmt.Sprint(a2) != fmt.Sprint(a) {
		t.Fatalf("a refused update changed acquirer 111: %+v", a2)
	}
	if _, err := db.Acquirer(ctx, "333"); err == nil {
		t.Fatal("a refused add stored acquirer 333")
	}

	// Roll-out: MACs optional, then format 1 allowed, then the ZAK removed.
	if out := cliOK(t, getenv, "acquirers", "update", "--id", "111", "--mac-required=false"); !strings.Contains(out, "MAC verified when sent") {
		t.Fatalf("update output %q", out)
	}
	cliOK(t, getenv, "acquirers", "update", "--id", "111", "--pin-formats", "1,0")
	if a, _ := db.Acquirer(ctx, "111"); a.MACRequired || a.ZAKRef != zak || fmt.Sprint(a.PINFormats) != fmt.Sprint([]pinblock.Format{1, 0}) {
		t.Fatalf("after updates: %+v", a)
	}
	cliOK(t, getenv, "acquirers", "update", "--id", "111", "--zak-ref", "")
	if a, _ := db.Acquirer(ctx, "111"); a.MACRequired || a.ZAKRef != "" {
		t.Fatalf("after removing the ZAK: %+v", a)
	}
	// A ZAK given later requires MACs unless said otherwise.
	cliOK(t, getenv, "acquirers", "update", "--id", "222", "--zak-ref", zak)
	if b, _ := db.Acquirer(ctx, "222"); !b.MACRequired || b.ZAKRef != zak {
		t.Fatalf("after adding a ZAK: %+v", b)
	}
	// Rotating the ZAK says what the acquirer must do, and until when the
	// old version is accepted.
	if out := cliOK(t, getenv, "keys", "rotate", "--ref", zak); !strings.Contains(out, "exchange version 2 with the acquirers") || !strings.Contains(out, "MACs under version 1 are accepted until") {
		t.Fatalf("rotate output %q", out)
	}
}
