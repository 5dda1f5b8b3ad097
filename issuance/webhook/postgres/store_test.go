package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/issuance/webhook"
	whpg "github.com/cardhost/cardhost/issuance/webhook/postgres"
	"github.com/cardhost/cardhost/kafka"
)

// fixture is a store over a fresh schema with one tenant and endpoints.
type fixture struct {
	t      *testing.T
	db     *issuancepg.DB
	store  *whpg.Store
	tenant string
	start  time.Time
}

func newFixture(t *testing.T) *fixture {
	db := pgtest.New(t, issuancepg.Config{})
	ten, _, err := issuance.NewService(issuance.Deps{Tenants: db}).CreateTenant(context.Background(), "Store", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: db, store: whpg.New(db), tenant: ten.ID, start: time.Now().UTC().Truncate(time.Microsecond)}
}

func (f *fixture) endpoint(types ...string) string {
	f.t.Helper()
	e := webhook.Endpoint{ID: issuance.NewID(webhook.EndpointIDPrefix, f.start), TenantID: f.tenant, URL: "https://hooks.example/x",
		EventTypes: types, CreatedAt: f.start, UpdatedAt: f.start, SealKeyRef: "key_test", Sealed: []byte("sealed")}
	if err := f.store.CreateEndpoint(context.Background(), e); err != nil {
		f.t.Fatal(err)
	}
	return e.ID
}

func (f *fixture) emit(n int, typ string) {
	f.t.Helper()
	var evs []kafka.Event
	for i := range n {
		at := f.start.Add(time.Duration(i+1) * time.Millisecond)
		e, err := kafka.NewEvent(typ, "crd_1", f.tenant, kafka.CardData{ID: "crd_1", TenantID: f.tenant, Status: "ACTIVE"}, at)
		if err != nil {
			f.t.Fatal(err)
		}
		evs = append(evs, e)
	}
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, f.db.Pool(), func(tx pgx.Tx) error { return issuancepg.InsertEvents(ctx, tx, evs) }); err != nil {
		f.t.Fatal(err)
	}
}

// TestIngestOnceAcrossInstances: instances ingesting at once move every
// outbox row exactly once, with one delivery per subscribed endpoint.
func TestIngestOnceAcrossInstances(t *testing.T) {
	f := newFixture(t)
	cards, orders := f.endpoint("card.*"), f.endpoint("order.*")
	f.endpoint("card.frozen")
	f.emit(300, kafka.TypeCardActivated)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := f.store.Ingest(ctx, 37, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total += n
				mu.Unlock()
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	var events, toCards, toOrders, undispatched int
	f.db.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM webhook_events WHERE type = 'card.activated'),
		(SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1), (SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $2),
		(SELECT n FROM ch_outbox_backlog('webhooks'))`, cards, orders).Scan(&events, &toCards, &toOrders, &undispatched)
	if total != 301 || events != 300 || toCards != 300 || toOrders != 0 || undispatched != 0 {
		t.Fatalf("ingested %d rows (want 301 with tenant.created): %d events, %d and %d deliveries, %d left", total, events, toCards, toOrders, undispatched)
	}
}

// TestClaimBoundsPerEndpoint: claims give each endpoint at most its room,
// never one delivery to two claimers, and a lease hides a claimed
// delivery until it ends.
func TestClaimBoundsPerEndpoint(t *testing.T) {
	f := newFixture(t)
	busy, idle := f.endpoint("card.*"), f.endpoint("card.activated")
	f.emit(20, kafka.TypeCardActivated)
	ctx := context.Background()
	if _, err := f.store.Ingest(ctx, 100, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	lease := now.Add(time.Minute)
	seen := map[int64]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 3 { // three instances, each allowed 4 per endpoint, busy has room for 2 in each
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs, err := f.store.Claim(ctx, now, lease, 100, 4, map[string]int{busy: 2})
			if err != nil {
				t.Error(err)
				return
			}
			per := map[string]int{}
			mu.Lock()
			defer mu.Unlock()
			for _, j := range jobs {
				seen[j.DeliveryID]++
				per[j.Endpoint.ID]++
				if j.Attempt != 1 || j.Event.TenantID != f.tenant || j.Endpoint.URL == "" || len(j.Event.Data) == 0 {
					t.Errorf("job %+v", j)
				}
			}
			if per[busy] > 2 || per[idle] > 4 {
				t.Errorf("one claim took %d of the busy endpoint (room 2) and %d of the other (limit 4)", per[busy], per[idle])
			}
		}()
	}
	wg.Wait()
	for id, n := range seen {
		if n > 1 {
			t.Fatalf("delivery %d claimed %d times", id, n)
		}
	}
	if len(seen) == 0 {
		t.Fatal("nothing claimed")
	}
	// Leased: not due again before the lease ends, due after.
	again, _ := f.store.Claim(ctx, now, lease, 100, 100, nil)
	for _, j := range again {
		if seen[j.DeliveryID] > 0 {
			t.Fatalf("delivery %d claimed again during its lease", j.DeliveryID)
		}
	}
	if len(seen)+len(again) != 40 {
		t.Fatalf("claimed %d then %d of 40 deliveries", len(seen), len(again))
	}
	later, _ := f.store.Claim(ctx, lease.Add(time.Second), lease.Add(time.Minute), 100, 100, nil)
	if len(later) != 40 {
		t.Fatalf("after the leases: %d jobs, want all 40 back", len(later))
	}
	for _, j := range later {
		if j.Attempt != 2 {
			t.Fatalf("job %d is attempt %d after one lease ran out, want 2", j.DeliveryID, j.Attempt)
		}
	}
}
