package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
)

// binTemplate stores a data prep template of the tenant with the IIN.
func binTemplate(t *testing.T, db *postgres.DB, tenantID, iin string) {
	t.Helper()
	now := time.Now().UTC()
	if err := db.CreateTemplate(context.Background(), issuance.Template{ID: issuance.NewID("tpl", now), TenantID: tenantID, Name: "t",
		Network: issuance.NetworkVisa, IIN: iin, PANLength: 16, CVN: 18, AID: "A0000000031010", ServiceCode: "201", IMKACRef: "k", CVKRef: "k",
		CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// binCard stores a card row of the tenant in the 6-digit BIN (imported or
// not), as only the columns the BIN-range rules read matter here.
func binCard(t *testing.T, db *postgres.DB, tenantID, bin string, imported bool) {
	t.Helper()
	now := time.Now().UTC()
	id := issuance.NewID(issuance.CardIDPrefix, now)
	if _, err := db.Pool().Exec(context.Background(), `INSERT INTO cards (id, tenant_id, reference_number, type, status, currency,
		pan_cipher, pan_index, bin, last4, pan_length, expiry, network, imported, created_at, updated_at)
		VALUES ($1, $2, 'CRD-1', 'VIRTUAL', 'ACTIVE', 'USD', '\x00', $3, $4, '0000', 16, '3012', 'VISA', $5, $6, $6)`,
		id, tenantID, []byte(id), bin, imported, now); err != nil {
		t.Fatal(err)
	}
}

func assignRange(db *postgres.DB, tenantID, prefix string) error {
	return db.AssignBINRange(context.Background(), bins.Range{Prefix: prefix, TenantID: tenantID, CreatedAt: time.Now().UTC()})
}

// wantConflict fails unless err is a *bins.Conflict naming what and whose.
func wantConflict(t *testing.T, err error, what, prefix, tenantID string) {
	t.Helper()
	var c *bins.Conflict
	if !errors.As(err, &c) || c.What != what || c.Prefix != prefix || c.TenantID != tenantID {
		t.Fatalf("got %v, want a conflict with %s %s of %s", err, what, prefix, tenantID)
	}
}

func prefixes(t *testing.T, db *postgres.DB, tenantID string) []string {
	t.Helper()
	rs, err := db.BINRanges(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.Prefix)
	}
	return out
}

// TestBINRangesAreDisjointAndOwned: a range is refused when it overlaps
// another range (either way round, of any tenant), another tenant's
// template IIN or another tenant's cards; a range is removed only while
// its tenant has nothing in it.
func TestBINRangesAreDisjointAndOwned(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	a, _ := newTenant(t, db, "A")
	b, _ := newTenant(t, db, "B")

	if err := assignRange(db, a.ID, "400000"); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, assignRange(db, b.ID, "40000018"), "BIN range", "400000", a.ID) // inside A's
	wantConflict(t, assignRange(db, b.ID, "400000"), "BIN range", "400000", a.ID)   // the same
	wantConflict(t, assignRange(db, a.ID, "4000001"), "BIN range", "400000", a.ID)  // inside its own
	if err := assignRange(db, b.ID, "400001"); err != nil {                         // next door
		t.Fatal(err)
	}
	// B's 8-digit range: A may not take the 6-digit BIN around it.
	if err := assignRange(db, b.ID, "41000018"); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, assignRange(db, a.ID, "410000"), "BIN range", "41000018", b.ID)

	// Objects from before BIN ranges: another tenant's template or cards.
	binTemplate(t, db, b.ID, "42000018")
	wantConflict(t, assignRange(db, a.ID, "420000"), "data prep template", "42000018", b.ID)
	wantConflict(t, assignRange(db, a.ID, "42000018"), "data prep template", "42000018", b.ID)
	binCard(t, db, b.ID, "430000", true)
	wantConflict(t, assignRange(db, a.ID, "43000012"), "cards in BIN", "430000", b.ID)
	// ... but a tenant's own template or cards do not stop its range.
	binCard(t, db, a.ID, "440000", false)
	binTemplate(t, db, a.ID, "44000018")
	if err := assignRange(db, a.ID, "440000"); err != nil {
		t.Fatal(err)
	}
	if err := assignRange(db, "ten_00000000000000000000000000", "450000"); !errors.Is(err, bins.ErrTenantNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}

	if got := prefixes(t, db, a.ID); !slices.Equal(got, []string{"400000", "440000"}) {
		t.Fatalf("A's ranges %v", got)
	}
	if got := prefixes(t, db, ""); !slices.Equal(got, []string{"400000", "400001", "41000018", "440000"}) {
		t.Fatalf("every range %v", got)
	}

	// Removal: only the tenant's own, and only while nothing is in it.
	if err := db.RemoveBINRange(ctx, a.ID, "440000"); !errors.Is(err, bins.ErrInUse) {
		t.Fatalf("removing a range with the tenant's template and cards: %v", err)
	}
	binTemplate(t, db, a.ID, "40000022")
	if err := db.RemoveBINRange(ctx, a.ID, "400000"); !errors.Is(err, bins.ErrInUse) {
		t.Fatalf("removing a range with the tenant's template: %v", err)
	}
	if err := db.RemoveBINRange(ctx, a.ID, "400001"); !errors.Is(err, bins.ErrNotFound) {
		t.Fatalf("removing another tenant's range: %v", err)
	}
	if err := db.RemoveBINRange(ctx, b.ID, "400001"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveBINRange(ctx, b.ID, "400001"); !errors.Is(err, bins.ErrNotFound) {
		t.Fatalf("removing it twice: %v", err)
	}
}

// TestBINRangeAssignmentsRace: two tenants assigned overlapping ranges at
// the same moment: exactly one gets its range, every time.
func TestBINRangeAssignmentsRace(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	a, _ := newTenant(t, db, "A")
	b, _ := newTenant(t, db, "B")
	for i := range 10 {
		outer, inner := "46000"+string(rune('0'+i)), "46000"+string(rune('0'+i))+"18"
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, r := range []struct{ tenant, prefix string }{{a.ID, outer}, {b.ID, inner}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = assignRange(db, r.tenant, r.prefix)
			}()
		}
		wg.Wait()
		var c *bins.Conflict
		if (errs[0] == nil) == (errs[1] == nil) || !(errors.As(errs[0], &c) || errors.As(errs[1], &c)) {
			t.Fatalf("round %d: %v, %v; want one range and one conflict", i, errs[0], errs[1])
		}
	}
}

// TestMigrationBackfillsBINRanges applies migration 0039 again over data
// made before it: every tenant gets the IINs of its templates and the BINs
// of its imported cards, except where another tenant's overlap, and only
// the shortest of its own nested prefixes.
func TestMigrationBackfillsBINRanges(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, postgres.Config{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, _ := newTenant(t, db, "A")
	b, _ := newTenant(t, db, "B")
	c, _ := newTenant(t, db, "C")
	d, _ := newTenant(t, db, "D")
	binTemplate(t, db, a.ID, "40000018")
	binTemplate(t, db, a.ID, "40000022")
	binCard(t, db, a.ID, "411111", true)
	binTemplate(t, db, b.ID, "40000018") // shared with A: neither gets it
	binTemplate(t, db, c.ID, "51000016")
	binTemplate(t, db, c.ID, "510000") // C's own, around its other one
	binCard(t, db, d.ID, "520000", true)
	binCard(t, db, d.ID, "530000", false) // issued: its template's IIN is what counts
	if _, err := db.Pool().Exec(ctx, `DROP TABLE bin_ranges; DROP INDEX cards_bin; DELETE FROM schema_migrations WHERE version = 39`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = postgres.Open(ctx, postgres.Config{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		tenant string
		want   []string
	}{{a.ID, []string{"40000022", "411111"}}, {b.ID, nil}, {c.ID, []string{"510000"}}, {d.ID, []string{"520000"}}} {
		if got := prefixes(t, db, tc.tenant); !slices.Equal(got, tc.want) {
			t.Errorf("tenant %s: ranges %v, want %v", tc.tenant, got, tc.want)
		}
	}
	// The shared IIN stays free of both: the operator decides, and may
	// give it to neither while the other has a template in it.
	wantConflict(t, assignRange(db, a.ID, "40000018"), "data prep template", "40000018", b.ID)
}
