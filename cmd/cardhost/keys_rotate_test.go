package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
)

// TestKeysReindexMovesEveryCard: after a rotation of the platform's
// PAN-index key, keys reindex moves every card to the new version once
// every instance knows it (two key-cache lifetimes, here 1 ms), so that no
// card depends on the retired version's end of use (issue 12, point 6).
func TestKeysReindexMovesEveryCard(t *testing.T) {
	base, url, mk := cliEnv(t, "")
	getenv := func(k string) string {
		if k == "CARDHOST_KEY_CACHE_TTL" {
			return "1ms"
		}
		return base(k)
	}
	ctx := context.Background()
	idx := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "PAN-IDX"))
	dek := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "PAN-DEK"))
	cliOK(t, getenv, "keys", "assign", "--role", "pan-idx", "--ref", idx)
	cliOK(t, getenv, "keys", "assign", "--role", "pan-dek", "--ref", dek)

	db, hsm := openCLIStore(t, url, mk)
	ten, _, err := issuance.NewService(issuance.Deps{Tenants: db}).CreateTenant(ctx, "Rotation", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	pans := []string{"4000001234567899", "4000001234567808", "4000001234567816"}
	for i, pan := range pans {
		id := issuance.NewID(issuance.CardIDPrefix, time.Now())
		sealed, err := hsm.SealPAN(ctx, dek, ten.ID, id, emv.PAN(pan))
		if err != nil {
			t.Fatal(err)
		}
		ix, err := hsm.IndexPAN(ctx, idx, emv.PAN(pan))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool().Exec(ctx, `INSERT INTO cards (id, tenant_id, reference_number, type, status, currency, pan_cipher, pan_index,
			bin, last4, pan_length, expiry, network, created_at, updated_at)
			VALUES ($1, $2, $3, 'VIRTUAL', 'ACTIVE', 'USD', $4, $5, '400000', $6, 16, '3012', 'VISA', now(), now())`,
			id, ten.ID, "R"+strings.Repeat("0", i), sealed, ix, pan[12:]); err != nil {
			t.Fatal(err)
		}
	}
	if out := cliOK(t, getenv, "keys", "rotate", "--ref", idx); !strings.Contains(out, "cardhost keys reindex") {
		t.Fatalf("rotate output %q", out)
	}
	time.Sleep(5 * time.Millisecond)
	if out := cliOK(t, getenv, "keys", "reindex"); !strings.Contains(out, "re-indexed 3 cards") {
		t.Fatalf("reindex output %q", out)
	}
	_, hsm = openCLIStore(t, url, mk) // sees the new version
	for _, pan := range pans {
		want, err := hsm.IndexPAN(ctx, idx, emv.PAN(pan))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM cards WHERE pan_index = $1`, want).Scan(&n); err != nil || n != 1 {
			t.Fatalf("cards under the new index of card ...%s: %d (%v)", pan[12:], n, err)
		}
	}
	if out := cliOK(t, getenv, "keys", "reindex"); !strings.Contains(out, "re-indexed 0 cards") {
		t.Fatalf("reindex output %q", out)
	}
}
