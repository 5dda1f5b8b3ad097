package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
)

func cursorEvent(t testing.TB, subject string, n int) kafka.Event {
	t.Helper()
	now := time.Now()
	return kafka.Event{SpecVersion: kafka.SpecVersion, ID: kafka.NewID(now), Source: "cardhost/test", Type: "card.updated",
		Subject: subject, TenantID: "ten_test", Time: now, DataContentType: kafka.ContentTypeJSON, Data: []byte(fmt.Sprintf(`{"n":%d}`, n))}
}

// TestOutboxCursorTakesLateRows: a row whose transaction commits after a
// read that already passed its seq (a later seq committed first) is
// published on a later read, once.
func TestOutboxCursorTakesLateRows(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	o := db.Outbox()
	defer o.Close()
	drain(t, o)

	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	late := cursorEvent(t, "crd_late", 1)
	if err := postgres.InsertEvents(ctx, tx, []kafka.Event{late}); err != nil {
		t.Fatal(err)
	}
	early := cursorEvent(t, "crd_early", 1)
	if err := db.AppendEvents(ctx, []kafka.Event{early}); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, o); len(got) != 1 || got[0].Event.ID != early.ID {
		t.Fatalf("first read published %v, want only the committed later row", ids(got))
	}
	if n, _, err := db.Backlog(ctx, "relay"); err != nil || n != 0 {
		t.Fatalf("backlog with the late row uncommitted: %d, %v; want 0", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, err := db.Backlog(ctx, "relay"); err != nil || n != 1 {
		t.Fatalf("backlog after the late commit: %d, %v; want 1", n, err)
	}
	got := drain(t, o)
	if len(got) != 1 || got[0].Event.ID != late.ID || got[0].Seq > mustSeq(t, db, early.ID) {
		t.Fatalf("second read published %v, want the late row (a lower seq)", ids(got))
	}
	if got := drain(t, o); len(got) != 0 {
		t.Fatalf("third read published %v, want nothing", ids(got))
	}
}

// TestOutboxReadGivesEventsBackExactly: the relay's read decodes each
// event row from its wire values (binary seq and time), and gives every
// field back as written: unicode and escapes in data and subject, the
// time to the microsecond, seq as stored.
func TestOutboxReadGivesEventsBackExactly(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	o := db.Outbox()
	defer o.Close()
	drain(t, o)

	at := time.Date(2026, 12, 4, 23, 59, 58, 123456000, time.UTC)
	want := []kafka.Event{cursorEvent(t, "crd_é\"x", 1), cursorEvent(t, "crd_2", 2), cursorEvent(t, "crd_3", 3)}
	want[0].Data = json.RawMessage(`{"name":"CAFÉ \"A&B\"","n":[1,2.5,null],"u":"\u2028"}`)
	want[1].Time, want[1].Type, want[1].Source, want[1].TenantID = at, "authorization.approved", kafka.SourceHost, "ten_other"
	want[2].Time = time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC) // before PostgreSQL's epoch
	for i := range want {
		want[i].Time = want[i].Time.UTC().Truncate(time.Microsecond)
	}
	if err := db.AppendEvents(ctx, want); err != nil {
		t.Fatal(err)
	}
	got := drain(t, o)
	if len(got) != len(want) {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	for i, r := range got {
		if !r.Event.Equal(want[i]) || r.Event.SpecVersion != want[i].SpecVersion || r.Event.DataContentType != want[i].DataContentType ||
			string(r.Event.Data) != string(want[i].Data) || r.Seq != mustSeq(t, db, want[i].ID) {
			t.Errorf("event %d read back as\n%+v (seq %d)\nwant\n%+v (seq %d)", i, r.Event, r.Seq, want[i], mustSeq(t, db, want[i].ID))
		}
	}

	// The read's columns arrive as the decoder expects (else it falls back
	// to a scan, correct but slower).
	rows, err := db.Pool().Query(ctx, `SELECT seq, event_id, type, source, subject, tenant_id, time, data,
		next_low, next_high, next_pending::text[], next_bounds FROM ch_outbox_read(0, 0, '{}', '{}', 1, 0, '{}')`)
	if err != nil {
		t.Fatal(err)
	}
	fields := rows.FieldDescriptions()
	rows.Close()
	if !postgres.RawOutboxRows(fields) {
		t.Fatalf("the relay's read does not get seq and time in binary: %+v", fields)
	}
}

// TestOutboxCursorUnderConcurrentWriters: writers commit events in
// transactions that overlap and end out of seq order while the relay
// reads; every event is published exactly once, and each subject's events
// in the order they were committed. The same holds for the webhook
// dispatcher's ingest.
func TestOutboxCursorUnderConcurrentWriters(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	o := db.Outbox()
	defer o.Close()
	drain(t, o)

	const writers, perWriter = 6, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var published []kafka.OutboxRecord
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				published = append(published, drain(t, o)...)
				return
			default:
				published = append(published, readOnce(t, o)...)
			}
		}
	}()
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			subject := fmt.Sprintf("crd_w%d", w)
			for i := 0; i < perWriter; {
				tx, err := db.Pool().Begin(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				// Another row first, so the transaction has its xid and
				// seq before it waits.
				if err := postgres.InsertEvents(ctx, tx, []kafka.Event{cursorEvent(t, subject, i)}); err != nil {
					t.Error(err)
					tx.Rollback(ctx)
					return
				}
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				if rng.IntN(10) == 0 {
					tx.Rollback(ctx) // a gap in the seqs; event i is written again
					continue
				}
				if err := tx.Commit(ctx); err != nil {
					t.Error(err)
					return
				}
				i++
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	seen := map[string]bool{}
	last := map[string]int{}
	for _, r := range published {
		if seen[r.Event.ID] {
			t.Fatalf("event %s published twice", r.Event.ID)
		}
		seen[r.Event.ID] = true
		var n struct{ N int }
		if err := json.Unmarshal(r.Event.Data, &n); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[r.Event.Subject]; ok && n.N != prev+1 {
			t.Fatalf("%s: event %d published after %d", r.Event.Subject, n.N, prev)
		}
		last[r.Event.Subject] = n.N
	}
	if len(seen) != writers*perWriter {
		t.Fatalf("published %d events, want %d", len(seen), writers*perWriter)
	}
	var ingested int
	for {
		var n int
		if err := db.Pool().QueryRow(ctx, `SELECT ch_webhook_ingest(50, now())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		ingested += n
	}
	var stored int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM webhook_events WHERE subject LIKE 'crd_w%'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != writers*perWriter {
		t.Fatalf("webhook event store holds %d events, want %d", stored, writers*perWriter)
	}
}

// readOnce makes one relay pass: read, then mark everything read.
func readOnce(t testing.TB, o *postgres.Outbox) []kafka.OutboxRecord {
	t.Helper()
	recs, err := o.Pending(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) > 0 {
		seqs := make([]int64, len(recs))
		for i, r := range recs {
			seqs[i] = r.Seq
		}
		if !slices.IsSorted(seqs) {
			t.Fatalf("Pending out of seq order: %v", seqs)
		}
		if err := o.MarkSent(context.Background(), seqs); err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

// drain reads and marks until a read returns nothing.
func drain(t testing.TB, o *postgres.Outbox) []kafka.OutboxRecord {
	t.Helper()
	var all []kafka.OutboxRecord
	for {
		recs := readOnce(t, o)
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
	}
}

func ids(recs []kafka.OutboxRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%d:%s", r.Seq, r.Event.ID)
	}
	return out
}

func mustSeq(t testing.TB, db *postgres.DB, eventID string) int64 {
	t.Helper()
	var seq int64
	if err := db.Pool().QueryRow(context.Background(), `SELECT seq FROM outbox WHERE event_id = $1`, eventID).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestOutboxSeqAfterTransactionID: an outbox row's seq is taken after its
// transaction has an id, even when the row is the transaction's first
// write (migration 0073): else a reader's snapshot could fall between the
// two and miss the row for good.
func TestOutboxSeqAfterTransactionID(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var before *string
	if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id_if_assigned()::text`).Scan(&before); err != nil || before != nil {
		t.Fatalf("a fresh transaction has id %v (%v), want none", before, err)
	}
	var seq int64
	var after *string
	if err := tx.QueryRow(ctx, `SELECT ch_outbox_next_seq(), pg_current_xact_id_if_assigned()::text`).Scan(&seq, &after); err != nil || after == nil || seq <= 0 {
		t.Fatalf("ch_outbox_next_seq() = %d with transaction id %v (%v): want a seq and an id", seq, after, err)
	}
	var def string
	if err := tx.QueryRow(ctx, `SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'outbox'::regclass
		AND adnum = (SELECT attnum FROM pg_attribute WHERE attrelid = 'outbox'::regclass AND attname = 'seq')`).Scan(&def); err != nil || def != "ch_outbox_next_seq()" {
		t.Fatalf("outbox.seq defaults to %q (%v), want ch_outbox_next_seq()", def, err)
	}
}

// TestOutboxCursorTakesRowOfTransactionAboveXmax: a transaction that took
// its xid and a seq, then waited while one with a smaller xid and a larger
// seq committed, is not in a snapshot's xip (its xid is above the
// snapshot's xmax); its row is still published once it commits (0074).
func TestOutboxCursorTakesRowOfTransactionAboveXmax(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	o := db.Outbox()
	defer o.Close()
	drain(t, o)

	older, err := db.Pool().Begin(ctx) // the smaller xid, the larger seq
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx)
	if _, err := older.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	newer, err := db.Pool().Begin(ctx) // the larger xid, the smaller seq
	if err != nil {
		t.Fatal(err)
	}
	defer newer.Rollback(ctx)
	waiting := cursorEvent(t, "crd_newer", 1)
	if err := postgres.InsertEvents(ctx, newer, []kafka.Event{waiting}); err != nil {
		t.Fatal(err)
	}
	committed := cursorEvent(t, "crd_older", 1)
	if err := postgres.InsertEvents(ctx, older, []kafka.Event{committed}); err != nil {
		t.Fatal(err)
	}
	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, o); len(got) != 1 || got[0].Event.ID != committed.ID {
		t.Fatalf("first reads published %v, want the committed row only", ids(got))
	}
	if err := newer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, o); len(got) != 1 || got[0].Event.ID != waiting.ID {
		t.Fatalf("after the waiting transaction committed, reads published %v, want its row", ids(got))
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT ch_webhook_ingest(100, now())`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if bl, _, err := db.Backlog(ctx, "webhooks"); err != nil || bl != 0 {
		t.Fatalf("webhooks backlog %d, %v after an ingest; want 0", bl, err)
	}
}

// TestWebhookIngestWithoutEndpoints: while no endpoint is enabled the
// ingest reads no row and moves its cursor past them (0077), yet a
// transaction still running then keeps its rows: once an endpoint exists
// and the transaction commits, its event is delivered, once; an event
// from before the endpoint is not.
func TestWebhookIngestWithoutEndpoints(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ctx := context.Background()
	pool := db.Pool()
	ingest := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT ch_webhook_ingest(100, now())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for ingest() > 0 {
	}
	running, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer running.Rollback(ctx)
	late := cursorEvent(t, "crd_running", 1)
	late.Time = time.Now().Add(time.Hour) // after the endpoint's creation below
	if err := postgres.InsertEvents(ctx, running, []kafka.Event{late}); err != nil {
		t.Fatal(err)
	}
	before := cursorEvent(t, "crd_before", 1)
	before.Time = time.Now().Add(-time.Hour)
	if err := db.AppendEvents(ctx, []kafka.Event{before}); err != nil {
		t.Fatal(err)
	}
	if n := ingest(); n != 0 {
		t.Fatalf("ingest without endpoints read %d rows", n)
	}
	if bl, _, err := db.Backlog(ctx, "webhooks"); err != nil || bl != 0 {
		t.Fatalf("webhooks backlog %d, %v after an ingest without endpoints; want 0", bl, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ('ten_test', 't', now());
		INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, seal_key_ref, secret_sealed, created_at, updated_at)
		VALUES ('we_1', 'ten_test', 'https://example.test/hook', '{card.*}', 'k', '\x00', now(), now())`); err != nil {
		t.Fatal(err)
	}
	if err := running.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for ingest() > 0 {
	}
	deliveries := func(eventID string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE event_id = $1`, eventID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := deliveries(late.ID); n != 1 {
		t.Fatalf("the running transaction's event has %d deliveries, want 1", n)
	}
	if n := deliveries(before.ID); n != 0 {
		t.Fatalf("an event from before the endpoint has %d deliveries", n)
	}
	if ingest(); deliveries(late.ID) != 1 {
		t.Fatal("delivered again")
	}
}
