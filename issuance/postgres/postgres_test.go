package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
)

func newTenant(t *testing.T, db *postgres.DB, name string) (issuance.Tenant, string) {
	t.Helper()
	svc := issuance.NewService(issuance.Deps{Tenants: db})
	ten, secret, err := svc.CreateTenant(context.Background(), name, true, nil)
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	return ten, secret
}

func TestMigrationsAreRecordedAndIdempotent(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ { // the second Open must find everything applied
		db, err := postgres.Open(ctx, postgres.Config{URL: url}, nil)
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		var n int
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("no migration recorded")
		}
		db.Close()
	}
}

// TestCreatedDatabaseComparesBytes: a database cardhost creates itself
// has collation "C" (byte order: docs/operations.md), whatever the
// server's default, and its text keys sort as bytes.
func TestCreatedDatabaseComparesBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL integration test")
	}
	u, err := url.Parse(pgtest.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "cardhost_collation_" + hex.EncodeToString(b[:])
	u.Path = "/" + name
	ctx := context.Background()
	db, err := postgres.Open(ctx, postgres.Config{URL: u.String(), CreateDatabase: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		u.Path = "/postgres"
		conn, err := pgx.Connect(ctx, u.String())
		if err != nil {
			t.Logf("dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	var collate string
	if err := db.Pool().QueryRow(ctx, `SELECT datcollate FROM pg_database WHERE datname = current_database()`).Scan(&collate); err != nil {
		t.Fatal(err)
	}
	if collate != "C" {
		t.Fatalf("datcollate %q, want C", collate)
	}
	var sorted []string
	if err := db.Pool().QueryRow(ctx, `SELECT array_agg(v ORDER BY v) FROM unnest(ARRAY['b', 'B', 'a_1', 'a1', 'é', 'z']) AS v`).Scan(&sorted); err != nil {
		t.Fatal(err)
	}
	if want := []string{"B", "a1", "a_1", "b", "z", "é"}; !slices.Equal(sorted, want) {
		t.Fatalf("sorted %q, want byte order %q", sorted, want)
	}
}

func TestTenantAuthenticateAndRevoke(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	ten, secret := newTenant(t, db, "Acme Issuing")
	got, key, err := db.Authenticate(ctx, issuance.HashAPIKey(secret))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if got.ID != ten.ID || key.TenantID != ten.ID {
		t.Fatalf("Authenticate = %s/%s, want tenant %s", got.ID, key.TenantID, ten.ID)
	}
	if _, _, err := db.Authenticate(ctx, issuance.HashAPIKey(secret+"x")); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("bad key: err = %v, want ErrNotFound", err)
	}
	if err := db.RevokeAPIKey(ctx, "ten_other", key.ID, time.Now()); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("revoking another tenant's key: err = %v, want ErrNotFound", err)
	}
	if err := db.RevokeAPIKey(ctx, ten.ID, key.ID, time.Now()); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if _, _, err := db.Authenticate(ctx, issuance.HashAPIKey(secret)); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("revoked key still authenticates: %v", err)
	}
	// tenant.created is in the outbox, in the same transaction as the tenant.
	recs, err := db.Outbox().Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Event.Type != kafka.TypeTenantCreated || recs[0].Event.Subject != ten.ID {
		t.Fatalf("outbox = %+v, want one tenant.created for %s", recs, ten.ID)
	}
}

func TestIdempotencyClaimRace(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	ten, _ := newTenant(t, db, "Race")
	claim := issuance.IdempotencyClaim{TenantID: ten.ID, Key: "k1", Method: "POST", Path: "/v1/cards",
		RequestHash: []byte("hash-a"), Now: time.Now(), LockFor: time.Minute}
	const n = 16
	var wg sync.WaitGroup
	outcomes := make([]issuance.IdempotencyOutcome, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := db.Claim(ctx, claim)
			if err != nil {
				t.Error(err)
			}
			outcomes[i] = o
		}()
	}
	wg.Wait()
	proceeded := 0
	for _, o := range outcomes {
		switch o {
		case issuance.IdempotencyProceed:
			proceeded++
		case issuance.IdempotencyInProgress:
		default:
			t.Errorf("unexpected outcome %d", o)
		}
	}
	if proceeded != 1 {
		t.Fatalf("%d claims proceeded, want exactly 1", proceeded)
	}
	other := claim
	other.RequestHash = []byte("hash-b")
	if o, _, _ := db.Claim(ctx, other); o != issuance.IdempotencyMismatch {
		t.Fatalf("different body: outcome %d, want mismatch", o)
	}
	if err := db.Complete(ctx, ten.ID, "k1", issuance.StoredResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"ok":true}`)}); err != nil {
		t.Fatal(err)
	}
	o, resp, err := db.Claim(ctx, claim)
	if err != nil || o != issuance.IdempotencyReplay || resp.Status != 201 || string(resp.Body) != `{"ok":true}` {
		t.Fatalf("replay = %d %+v %v", o, resp, err)
	}
	// An abandoned in-flight claim for the same request is taken over after its lock.
	stale := claim
	stale.Key, stale.LockFor = "k2", time.Millisecond
	if o, _, _ := db.Claim(ctx, stale); o != issuance.IdempotencyProceed {
		t.Fatal("first claim of k2 did not proceed")
	}
	later := stale
	later.Now = stale.Now.Add(time.Second)
	if o, _, _ := db.Claim(ctx, later); o != issuance.IdempotencyProceed {
		t.Fatalf("stale claim not taken over: %d", o)
	}
	// Keys expire after 24 h.
	n2, err := db.PurgeIdempotency(ctx, time.Now().Add(25*time.Hour))
	if err != nil || n2 != 2 {
		t.Fatalf("PurgeIdempotency = %d, %v; want 2", n2, err)
	}
}

func TestOutboxLeaseIsExclusiveAndOrdered(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	a, err := postgres.Open(ctx, postgres.Config{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, postgres.Config{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := 0; i < 5; i++ {
		newTenant(t, a, "T")
	}
	oa, ob := a.Outbox(), b.Outbox()
	recs, err := oa.Pending(ctx, 100)
	if err != nil || len(recs) != 5 {
		t.Fatalf("leader Pending = %d, %v; want 5", len(recs), err)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq <= recs[i-1].Seq {
			t.Fatalf("records out of seq order: %d after %d", recs[i].Seq, recs[i-1].Seq)
		}
	}
	if other, err := ob.Pending(ctx, 100); err != nil || len(other) != 0 {
		t.Fatalf("second instance got %d records (err %v) while the first holds the lease", len(other), err)
	}
	n, oldest, err := oa.Lag(ctx)
	if err != nil || n != 5 || oldest.IsZero() {
		t.Fatalf("Lag = %d %v %v", n, oldest, err)
	}
	if err := oa.MarkSent(ctx, []int64{recs[0].Seq, recs[1].Seq}); err != nil {
		t.Fatal(err)
	}
	oa.Close() // hand the lease over
	rest, err := ob.Pending(ctx, 100)
	if err != nil || len(rest) != 3 || rest[0].Seq != recs[2].Seq {
		t.Fatalf("after handover Pending = %d records, %v; want the 3 unsent", len(rest), err)
	}
	ob.Close()
}

// TestPruneOutboxKeepsUnsentAndRecent: pruning deletes only events both
// the relay and the webhook dispatcher have handled (at or below both
// cursors' low) and written before the cut-off, oldest first. The cursors
// are set by hand: how they move is TestOutboxCursor*'s (a busy cluster
// may hold a low back for a read, which would make this one wait).
func TestPruneOutboxKeepsUnsentAndRecent(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		newTenant(t, db, "T")
	}
	var seqs []int64
	rows, _ := db.Pool().Query(ctx, `SELECT seq FROM outbox ORDER BY seq`)
	for rows.Next() {
		var s int64
		rows.Scan(&s)
		seqs = append(seqs, s)
	}
	if len(seqs) != 6 {
		t.Fatalf("%d outbox rows, want 6", len(seqs))
	}
	setCursor := func(name string, low int64) {
		t.Helper()
		if _, err := db.Pool().Exec(ctx, `UPDATE outbox_cursors SET low = $2, high = $2, pending = '{}', bounds = '{}' WHERE name = $1`, name, low); err != nil {
			t.Fatal(err)
		}
	}
	// Rows 0-4 written long ago, row 5 just now.
	long := time.Now().Add(-60 * 24 * time.Hour)
	if _, err := db.Pool().Exec(ctx, `UPDATE outbox SET time = $2 WHERE seq <= $1`, seqs[4], long); err != nil {
		t.Fatal(err)
	}
	cut := time.Now().Add(-30 * 24 * time.Hour)
	setCursor("relay", seqs[0]-1)
	setCursor("webhooks", seqs[0]-1)
	if n, err := db.PruneOutbox(ctx, cut, 3); err != nil || n != 0 {
		t.Fatalf("pruned %d, %v before anything was published; want 0", n, err)
	}
	setCursor("relay", seqs[3])
	if n, err := db.PruneOutbox(ctx, cut, 3); err != nil || n != 0 {
		t.Fatalf("pruned %d, %v before the webhook dispatcher took anything; want 0", n, err)
	}
	setCursor("webhooks", seqs[5])
	if n, err := db.PruneOutbox(ctx, cut, 3); err != nil || n != 3 {
		t.Fatalf("first pass pruned %d, %v; want 3", n, err)
	}
	if n, err := db.PruneOutbox(ctx, cut, 3); err != nil || n != 1 {
		t.Fatalf("second pass pruned %d, %v; want 1 (row 4 is not published)", n, err)
	}
	if n, err := db.PruneOutbox(ctx, cut, 3); err != nil || n != 0 {
		t.Fatalf("third pass pruned %d, %v; want 0", n, err)
	}
	var left []int64
	rows, _ = db.Pool().Query(ctx, `SELECT seq FROM outbox ORDER BY seq`)
	for rows.Next() {
		var s int64
		rows.Scan(&s)
		left = append(left, s)
	}
	if len(left) != 2 || left[0] != seqs[4] || left[1] != seqs[5] {
		t.Fatalf("left %v, want the unpublished and the recent (%d %d)", left, seqs[4], seqs[5])
	}
	if n, _, err := db.Backlog(ctx, "relay"); err != nil || n != 2 {
		t.Fatalf("relay backlog %d, %v; want 2", n, err)
	}
	if n, _, err := db.Backlog(ctx, "webhooks"); err != nil || n != 0 {
		t.Fatalf("webhooks backlog %d, %v; want 0", n, err)
	}
}
