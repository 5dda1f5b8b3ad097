package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
)

// TestPGMicros: PostgreSQL's timestamp epoch and its rounding to
// microseconds, against values computed by hand.
func TestPGMicros(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want int64
	}{
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(2000, 1, 1, 0, 0, 1, 0, time.FixedZone("X", 3600)), 1000000 - 3600*1000000},
		{time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), -1000000},
		{time.Date(2026, 12, 4, 0, 0, 0, 1499, time.UTC), 849657600*1000000 + 1},
		{time.Date(2026, 12, 4, 0, 0, 0, 1500, time.UTC), 849657600*1000000 + 2},
	} {
		if got := pgMicros(c.t); got != c.want {
			t.Errorf("pgMicros(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}

// fullRecord is an authorization with every column set to a value of its
// own, so that two columns swapped by the encoder cannot read back equal.
func fullRecord(now time.Time) *host.Authorization {
	expires := now.Add(7 * 24 * time.Hour)
	return &host.Authorization{ID: "auth_full", TenantID: "ten_1", CardID: "crd_1", Kind: host.KindFinancial, MTI: "0200",
		ProcessingCode: "000000", Amount: 1234, Currency: "840", CardAmount: 1300, ApprovedAmount: 1200, Code: iso.PartialApproval,
		Reason: host.ReasonApproved, ApprovalCode: "A1B2C3", AcquirerID: "12345", Terminal: "TERM0001", Merchant: "MERCHANT000001",
		Acceptor: "CAFE \"A&B\"\\ <x>", STAN: "000123", RRN: "612345678901", TransmissionTime: "1204120000", MCC: "5812",
		Country: "250", EntryMode: "051", ECI: "05", OriginalID: "auth_orig", Status: host.StatusOpen, Held: 1200,
		CapturedAmount: 7, ReversedAmount: 8, Applied: []host.Applied{{Key: "daily", Window: now.Truncate(time.Hour), Amount: 1200, Count: 1}},
		MatchKey: "k-full", Fingerprint: []byte{0, 1, 2, 0xfe}, ResponseICC: []byte{0x91, 0x02, 0xab, 0xcd},
		Balances:   []host.Balance{{AccountType: "00", AmountType: "02", Currency: "840", Amount: -55}},
		ReceivedAt: now, DecidedAt: now.Add(3 * time.Millisecond), DecidedBy: host.DecidedByIssuer, IssuerLatency: 321 * time.Millisecond,
		HoldID: "trf_hold", HoldAmount: 1200, HoldExpiresAt: &expires}
}

// TestRecordRoundTrip: a record and its event written through the binary
// commit read back as they were sent, every column in its place.
func TestRecordRoundTrip(t *testing.T) {
	db := pgtest.New(t, issuancepg.Config{})
	pool := db.Pool()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ('ten_1', 't', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO cards (id, tenant_id, reference_number, type, status, currency, pan_cipher, pan_index,
		bin, last4, pan_length, expiry, network, created_at, updated_at)
		VALUES ('crd_1', 'ten_1', 'r', 'VIRTUAL', 'ACTIVE', 'USD', '\x00', '\x01', '400000', '1234', 16, '3012', 'VISA', now(), now())`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 18, 30, 15, 123456789, time.UTC)
	sent := fullRecord(now)
	ev := kafka.Event{ID: "01JEVENTFULL", Type: kafka.TypeAuthorizationApproved, Source: "cardhost/host", Subject: "crd_1", TenantID: "ten_1",
		Time: now, Data: json.RawMessage(`{"merchant_name":"CAF\u00c9 \"A&B\"","n":[1,2.5,null]}`)}
	l := New(db)
	c := &host.Commit{CardID: "crd_1", CardVersion: 1, State: &host.State{Spend: map[string]host.Counter{}, LastATC: -1}, Record: sent,
		Events: []kafka.Event{ev}}
	if out, err := l.commitOne(ctx, pool, c); err != nil || out != host.CommitDone {
		t.Fatalf("commit: %d %v", out, err)
	}
	got, err := l.AuthorizationByKey(ctx, "k-full")
	if err != nil {
		t.Fatal(err)
	}
	want := *fullRecord(now.Truncate(time.Microsecond)) // PostgreSQL keeps microseconds (…456789 ns rounds to …457 µs)
	want.ReceivedAt = now.Round(time.Microsecond)
	want.DecidedAt = now.Add(3 * time.Millisecond).Round(time.Microsecond)
	exp := now.Add(7 * 24 * time.Hour).Round(time.Microsecond)
	want.HoldExpiresAt = &exp
	want.Applied[0].Window = got.Applied[0].Window // JSON time, compared below
	want.Version = 1
	if !got.Applied[0].Window.Equal(now.Truncate(time.Hour)) {
		t.Errorf("applied window %v, want %v", got.Applied[0].Window, now.Truncate(time.Hour))
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", *got, want)
	}

	var data []byte
	var evTime time.Time
	var id, typ, subject, tenant string
	if err := pool.QueryRow(ctx, `SELECT event_id, type, subject, tenant_id, time, data::text FROM outbox WHERE subject = 'crd_1'`).
		Scan(&id, &typ, &subject, &tenant, &evTime, &data); err != nil {
		t.Fatal(err)
	}
	if id != ev.ID || typ != ev.Type || subject != "crd_1" || tenant != "ten_1" || !evTime.Equal(ev.Time.Round(time.Microsecond)) {
		t.Errorf("outbox row %s %s %s %s %v, want %s %s crd_1 ten_1 %v", id, typ, subject, tenant, evTime, ev.ID, ev.Type, ev.Time)
	}
	if string(data) != string(ev.Data) {
		t.Errorf("outbox data %s, want the event's bytes %s", data, ev.Data)
	}
}

// compositeOIDs reads the column type OIDs of a binary composite value.
func compositeOIDs(t *testing.T, b []byte) []uint32 {
	t.Helper()
	n := int(binary.BigEndian.Uint32(b))
	b = b[4:]
	var oids []uint32
	for range n {
		oids = append(oids, binary.BigEndian.Uint32(b))
		size := int32(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
		if size > 0 {
			b = b[size:]
		}
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes after the composite's %d columns", len(b), n)
	}
	return oids
}

// TestRecordColumnsAreTheTables: the binary encoder writes the columns of
// authorizations and ch_commit_event, in their order and with their types;
// a column added to either table fails here first.
func TestRecordColumnsAreTheTables(t *testing.T) {
	db := pgtest.New(t, issuancepg.Config{})
	ctx := context.Background()
	tableOIDs := func(rel string) []uint32 {
		rows, err := db.Pool().Query(ctx, `SELECT atttypid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0
			AND NOT attisdropped ORDER BY attnum`, rel)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []uint32
		for rows.Next() {
			var oid uint32
			if err := rows.Scan(&oid); err != nil {
				t.Fatal(err)
			}
			out = append(out, oid)
		}
		return out
	}
	for _, rec := range []*host.Authorization{fullRecord(time.Now()), {ID: "a", Kind: host.KindAuthorization}} {
		var w wire
		if err := appendRecords(&w, 1, []*host.Authorization{rec}); err != nil {
			t.Fatal(err)
		}
		if got, want := compositeOIDs(t, w.b[24:]), tableOIDs("authorizations"); !reflect.DeepEqual(got, want) {
			t.Errorf("record columns %v, authorizations has %v", got, want)
		}
	}
	var w wire
	appendCommitEvents(&w, 1, []commitEvent{{Idx: 1, Event: kafka.Event{ID: "e", Data: json.RawMessage(`{}`)}}})
	if got, want := compositeOIDs(t, w.b[24:]), tableOIDs("ch_commit_event"); !reflect.DeepEqual(got, want) {
		t.Errorf("event columns %v, ch_commit_event has %v", got, want)
	}
	types, err := New(db).commitTypes(ctx, db.Pool())
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []ledger.Transfer{{ID: "trf_1", PendingID: "trf_0", CardID: "crd_1", Reference: "r", CreatedAt: time.Now()}, {ID: "trf_2"}} {
		w = wire{}
		appendTransfers(&w, types.transfer, []ledger.Transfer{tr})
		if got, want := compositeOIDs(t, w.b[24:]), tableOIDs("ch_transfer"); !reflect.DeepEqual(got, want) {
			t.Errorf("transfer columns %v, ch_transfer has %v", got, want)
		}
	}
	// A decision with everything set, and one with nothing.
	expires := time.Now()
	orig := fullRecord(expires)
	orig.Cleared = 5
	for _, c := range []*host.Commit{
		{CardID: "crd_1", CardVersion: 3, State: &host.State{Spend: map[string]host.Counter{}, UsedAt: &expires}, Status: issuance.Status("CANCELED"),
			Record: fullRecord(expires), Original: orig, Transfers: []ledger.Transfer{{ID: "trf_1"}}, FundsAccount: "acct_1", FundsBelow: 9},
		{Record: &host.Authorization{MatchKey: "k"}},
	} {
		w := wire{}
		if err := appendItems(&w, types, []*host.Commit{c}); err != nil {
			t.Fatal(err)
		}
		if got, want := compositeOIDs(t, w.b[24:]), tableOIDs("ch_commit_item"); !reflect.DeepEqual(got, want) {
			t.Errorf("item columns %v, ch_commit_item has %v", got, want)
		}
	}
}
