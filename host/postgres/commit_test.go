package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
)

// TestCommitGroupIsOneTransactionWithPerItemOutcomes drives the one commit
// path directly (no batcher, no fallback): approvals, a decline that only
// checks the version, a stale decision, a duplicate of a stored record, a
// record without a card, and a reversal updating its original, all in one
// ch_commit_group call. Then a reversal whose original changed: alone it is
// stale; in a group it rolls the whole group back (the batcher then commits
// each on its own).
func TestCommitGroupIsOneTransactionWithPerItemOutcomes(t *testing.T) {
	db := pgtest.New(t, issuancepg.Config{})
	pool := db.Pool()
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := pool.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ('ten_1', 't', now())`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		if _, err := pool.Exec(ctx, `INSERT INTO cards (id, tenant_id, reference_number, type, status, currency, pan_cipher, pan_index,
			bin, last4, pan_length, expiry, network, created_at, updated_at)
			VALUES ($1, 'ten_1', 'r', 'VIRTUAL', 'ACTIVE', 'USD', '\x00', $2, '400000', '1234', 16, '3012', 'VISA', now(), now())`,
			fmt.Sprintf("crd_%d", i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	l := New(db)
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
	if out, err := l.commitOne(ctx, pool, &host.Commit{CardID: "crd_4", CardVersion: 1, State: state, Record: stored, Events: event("crd_4")}); err != nil || out != host.CommitDone {
		t.Fatalf("setup commit: %d %v", out, err)
	}
	orig, err := l.AuthorizationByKey(ctx, "k-stored")
	if err != nil {
		t.Fatal(err)
	}
	reversed := *orig
	reversed.Status, reversed.Held, reversed.ReversedAmount = host.StatusReversed, 0, 100
	reversal := rec("crd_4", "k-reversal", iso.Approved)
	reversal.Kind, reversal.OriginalID, reversal.Status = host.KindReversal, orig.ID, host.StatusApplied

	group := []*host.Commit{
		{CardID: "crd_1", CardVersion: 1, State: state, Record: rec("crd_1", "k1", iso.Approved), Events: event("crd_1")},
		{CardID: "crd_2", CardVersion: 1, Record: rec("crd_2", "k2", "05")},                                            // decline, version check only
		{CardID: "crd_3", CardVersion: 7, State: state, Record: rec("crd_3", "k3", iso.Approved)},                      // stale
		{CardID: "crd_1", CardVersion: 1, State: state, Record: rec("crd_1", "k-stored", iso.Approved)},                // duplicate
		{Record: rec("", "k5", iso.InvalidCardNumber)},                                                                 // no card
		{CardID: "crd_4", CardVersion: 2, State: state, Record: reversal, Original: &reversed, Events: event("crd_4")}, // updates its original
	}
	outcomes, err := l.commitGroup(ctx, pool, group)
	if err != nil {
		t.Fatalf("commitGroup: %v", err)
	}
	want := []host.CommitOutcome{host.CommitDone, host.CommitDone, host.CommitStale, host.CommitDuplicate, host.CommitDone, host.CommitDone}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Errorf("item %d: outcome %d, want %d", i, outcomes[i], want[i])
		}
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM authorizations WHERE match_key IN ('k1','k2','k3','k5','k-reversal')`).Scan(&n)
	if n != 4 {
		t.Fatalf("%d records stored, want 4 (not the stale one)", n)
	}
	var v1, v2, v3 int64
	pool.QueryRow(ctx, `SELECT (SELECT version FROM cards WHERE id='crd_1'), (SELECT version FROM cards WHERE id='crd_2'), (SELECT version FROM cards WHERE id='crd_3')`).Scan(&v1, &v2, &v3)
	if v1 != 2 || v2 != 1 || v3 != 1 {
		t.Fatalf("card versions %d %d %d, want 2 (updated) 1 (checked) 1 (stale)", v1, v2, v3)
	}
	var events int
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE subject IN ('crd_1', 'crd_4')`).Scan(&events)
	if events != 3 {
		t.Fatalf("%d outbox rows, want 3", events)
	}
	if a, _ := l.AuthorizationByKey(ctx, "k-stored"); a.Status != host.StatusReversed {
		t.Fatalf("original status %s after the reversal", a.Status)
	}

	// The original changed since it was read (version 2 now, after the
	// reversal above): alone, the decision is stale and writes nothing.
	again := rec("crd_4", "k-reversal-2", iso.Approved)
	again.Kind, again.OriginalID, again.Status = host.KindReversal, orig.ID, host.StatusApplied
	staleOrig := &host.Commit{CardID: "crd_4", CardVersion: 3, State: state, Record: again, Original: &reversed}
	if out, err := l.commitOne(ctx, pool, staleOrig); err != nil || out != host.CommitStale {
		t.Fatalf("reversal of a changed original: outcome %d, %v; want stale", out, err)
	}
	// In a group it rolls the whole group back: the other decision is not
	// written either.
	fine := &host.Commit{CardID: "crd_2", CardVersion: 1, State: state, Record: rec("crd_2", "k6", iso.Approved)}
	if _, err := l.commitGroup(ctx, pool, []*host.Commit{fine, staleOrig}); err == nil {
		t.Fatal("a group with a changed original committed")
	}
	var v4 int64
	pool.QueryRow(ctx, `SELECT count(*), (SELECT version FROM cards WHERE id = 'crd_4') FROM authorizations WHERE match_key IN ('k6', 'k-reversal-2')`).Scan(&n, &v4)
	if n != 0 || v4 != 3 {
		t.Fatalf("after the rolled-back group: %d records, card version %d; want 0 and 3", n, v4)
	}
	// Committed each on its own (the batcher's fallback), the fine one goes through.
	if out, err := l.commitOne(ctx, pool, fine); err != nil || out != host.CommitDone {
		t.Fatalf("fallback commit: outcome %d, %v", out, err)
	}
}
