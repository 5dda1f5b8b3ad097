package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// testDB opens a fresh schema without importing pgtest (which imports this
// package).
func testDB(t *testing.T) *DB {
	t.Helper()
	if testing.Short() {
		t.Skip("PostgreSQL integration test")
	}
	base := "postgres://postgres@127.0.0.1:5432/cardhost_test?sslmode=disable"
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: base, CreateDatabase: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("tb_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	db, err = Open(ctx, Config{URL: base + "&search_path=" + schema}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// TestCommitGroupIsOneTransactionWithPerItemOutcomes drives the set-based
// group commit directly (no fallback): approvals, a decline that only
// checks the version, a stale decision, a duplicate of a stored record, a
// record without a card, and a reversal going through ch_commit in the
// same round trip.
func TestCommitGroupIsOneTransactionWithPerItemOutcomes(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := db.pool.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ('ten_1', 't', now())`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		if _, err := db.pool.Exec(ctx, `INSERT INTO cards (id, tenant_id, reference_number, type, status, currency, pan_cipher, pan_index,
			bin, last4, pan_length, expiry, network, created_at, updated_at)
			VALUES ($1, 'ten_1', 'r', 'VIRTUAL', 'ACTIVE', 'USD', '\x00', $2, '400000', '1234', 16, '3012', 'VISA', now(), now())`,
			fmt.Sprintf("crd_%d", i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	l := db.Ledger()
	rec := func(card, key string, code iso.ResponseCode) *host.Authorization {
		return &host.Authorization{ID: issuance.NewID("auth", now), TenantID: "ten_1", CardID: card, Kind: host.KindAuthorization,
			MTI: "0100", Code: code, Reason: host.ReasonApproved, Status: host.StatusOpen, MatchKey: key, ReceivedAt: now, DecidedAt: now,
			Amount: 100, ApprovedAmount: 100, Held: 100}
	}
	event := func(card string) []kafka.Event {
		ev, err := kafka.NewEvent(kafka.TypeAuthorizationApproved, card, "ten_1", kafka.AuthorizationData{ID: "auth_x", CardID: card, TenantID: "ten_1",
			MTI: "0100", Kind: "authorization", ProcessingCode: "000000", Amount: 100, Currency: "USD", ResponseCode: "00", Reason: "approved",
			MCC: "5411", MerchantID: "M", TerminalID: "T", AcquirerID: "1", EntryMode: "812", STAN: "000001", RRN: "1", CreatedAt: now}, now)
		if err != nil {
			t.Fatal(err)
		}
		return []kafka.Event{ev}
	}
	state := &host.State{Spend: map[string]host.Counter{}, TotalSpent: 100, LastATC: -1}
	// A stored record to be duplicated, and an open authorization to reverse.
	stored := rec("crd_4", "k-stored", iso.Approved)
	if out, err := l.commitOne(ctx, &host.Commit{CardID: "crd_4", CardVersion: 1, State: state, Record: stored, Events: event("crd_4")}); err != nil || out != "done" {
		t.Fatalf("setup commit: %s %v", out, err)
	}
	orig, err := l.AuthorizationByKey(ctx, "k-stored")
	if err != nil {
		t.Fatal(err)
	}
	reversed := *orig
	reversed.Status, reversed.Held, reversed.ReversedAmount = host.StatusReversed, 0, 100
	reversal := rec("crd_4", "k-reversal", iso.Approved)
	reversal.Kind, reversal.OriginalID, reversal.Status = host.KindReversal, orig.ID, host.StatusApplied

	group := []*commitRequest{
		{ctx: ctx, c: &host.Commit{CardID: "crd_1", CardVersion: 1, State: state, Record: rec("crd_1", "k1", iso.Approved), Events: event("crd_1")}},
		{ctx: ctx, c: &host.Commit{CardID: "crd_2", CardVersion: 1, Record: rec("crd_2", "k2", "05")}},                                            // decline, version check only
		{ctx: ctx, c: &host.Commit{CardID: "crd_3", CardVersion: 7, State: state, Record: rec("crd_3", "k3", iso.Approved)}},                      // stale
		{ctx: ctx, c: &host.Commit{CardID: "crd_1", CardVersion: 1, State: state, Record: rec("crd_1", "k-stored", iso.Approved)}},                // duplicate
		{ctx: ctx, c: &host.Commit{Record: rec("", "k5", iso.InvalidCardNumber)}},                                                                 // no card
		{ctx: ctx, c: &host.Commit{CardID: "crd_4", CardVersion: 2, State: state, Record: reversal, Original: &reversed, Events: event("crd_4")}}, // via ch_commit
	}
	outcomes, err := l.commitGroup(ctx, group)
	if err != nil {
		t.Fatalf("commitGroup: %v", err)
	}
	want := []string{"done", "done", "stale", "duplicate", "done", "done"}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Errorf("item %d: %s, want %s", i, outcomes[i], want[i])
		}
	}
	var n int
	db.pool.QueryRow(ctx, `SELECT count(*) FROM authorizations WHERE match_key IN ('k1','k2','k3','k5','k-reversal')`).Scan(&n)
	if n != 4 {
		t.Fatalf("%d records stored, want 4 (not the stale one)", n)
	}
	var v1, v2, v3 int64
	db.pool.QueryRow(ctx, `SELECT (SELECT version FROM cards WHERE id='crd_1'), (SELECT version FROM cards WHERE id='crd_2'), (SELECT version FROM cards WHERE id='crd_3')`).Scan(&v1, &v2, &v3)
	if v1 != 2 || v2 != 1 || v3 != 1 {
		t.Fatalf("card versions %d %d %d, want 2 (updated) 1 (checked) 1 (stale)", v1, v2, v3)
	}
	var events int
	db.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE subject IN ('crd_1', 'crd_4')`).Scan(&events)
	if events != 3 {
		t.Fatalf("%d outbox rows, want 3", events)
	}
	if a, _ := l.AuthorizationByKey(ctx, "k-stored"); a.Status != host.StatusReversed {
		t.Fatalf("original status %s after the reversal", a.Status)
	}
}
