package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardhost/cardhost/kafka"
)

// insertEventsSQL inserts any number of events in one statement.
const insertEventsSQL = `INSERT INTO outbox (event_id, type, source, subject, tenant_id, time, data)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::json[])`

// eventArgs returns the column arrays of insertEventsSQL.
func eventArgs(events []kafka.Event) []any {
	n := len(events)
	ids, types, sources, subjects, tenants := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times := make([]time.Time, n)
	data := make([][]byte, n)
	for i, e := range events {
		ids[i], types[i], sources[i], subjects[i], tenants[i], times[i] = e.ID, e.Type, e.Source, e.Subject, e.TenantID, e.Time
		data[i] = e.Data
	}
	return []any{ids, types, sources, subjects, tenants, times, data}
}

// InsertEvents writes events to the outbox inside tx, for the packages
// that build on DB (issuance/webhook/postgres): the events become
// visible to the relay exactly when tx commits. Call DB.Committed after
// the commit to wake the relay.
func InsertEvents(ctx context.Context, tx pgx.Tx, events []kafka.Event) error {
	return insertEvents(ctx, tx, events)
}

// insertEvents writes events to the outbox inside tx: they become visible to
// the relay exactly when the change they describe commits.
func insertEvents(ctx context.Context, tx pgx.Tx, events []kafka.Event) error {
	if len(events) == 0 {
		return nil
	}
	for _, e := range events {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("writing outbox: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, insertEventsSQL, eventArgs(events)...); err != nil {
		return fmt.Errorf("writing outbox: %w", err)
	}
	return nil
}

// AppendEvents writes events that go with no change of a row (the host's
// merchant.blocked) to the outbox in a transaction of their own, and wakes
// the relay.
func (db *DB) AppendEvents(ctx context.Context, events []kafka.Event) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return insertEvents(ctx, tx, events) })
}

// Outbox reads the outbox for the relay. Only the instance holding the
// relay lease (a session advisory lock on a dedicated connection) gets rows,
// so that one relay in a cluster publishes and per-key order holds. The
// outbox is append-only: what the relay has published is its cursor, the
// outbox_cursors row "relay" (migration 0070 says what it holds and why no
// row is missed), read when the lease is taken and stored after each batch
// Kafka acknowledged. Safe for concurrent use.
type Outbox struct {
	db *DB
	mu chan struct{} // 1-slot semaphore guarding what follows
	// lease is the connection holding the advisory lock (nil: not leader);
	// the relay's reads and cursor writes run on it.
	lease *pgxpool.Conn
	// cur is the stored cursor; next the cursor once the rows of the last
	// read (read, in seq order) are all published; marked the seqs
	// published since cur was stored, when a batch was acknowledged only
	// in part (the next read skips them).
	cur, next outboxCursor
	read      []int64
	marked    map[int64]bool
	// stored is what outbox_cursors holds: cur as of the last read that
	// published something (a read with nothing to publish moves cur in
	// memory only, without a write and its fsync).
	stored outboxCursor
	// names keeps one copy of the type, source and tenant strings the
	// reads meet (a few dozen values), so that a row allocates only its
	// id, subject and data.
	names map[string]string
}

// outboxCursor is a row of outbox_cursors.
type outboxCursor struct {
	Low, High int64
	Pending   []string // xid8 values, as text
	Bounds    []int64
}

// relayCursor names the relay's row of outbox_cursors.
const relayCursor = "relay"

// Outbox returns the relay's view of the outbox table (one per DB; Close
// releases its lease, and DB.Close closes it).
func (db *DB) Outbox() *Outbox {
	db.outboxOnce.Do(func() { db.outbox = &Outbox{db: db, mu: make(chan struct{}, 1)} })
	return db.outbox
}

// holdLease makes sure this instance holds the relay lease, returning
// whether it does; taking it, it reads the stored cursor. A lost
// connection loses the lease (dropLease); the next call tries to take it
// again.
func (o *Outbox) holdLease(ctx context.Context) (bool, error) {
	if o.lease != nil {
		return true, nil
	}
	conn, err := o.db.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquiring relay lease: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKey("relay")+`)`).Scan(&ok); err != nil {
		conn.Release()
		return false, fmt.Errorf("acquiring relay lease: %w", err)
	}
	if !ok {
		conn.Release()
		return false, nil
	}
	o.lease = conn
	if err := conn.QueryRow(ctx, `SELECT low, high, pending::text[], bounds FROM outbox_cursors WHERE name = $1`, relayCursor).
		Scan(&o.cur.Low, &o.cur.High, &o.cur.Pending, &o.cur.Bounds); err != nil {
		o.dropLease()
		return false, fmt.Errorf("reading the relay's cursor: %w", err)
	}
	o.next, o.read, o.marked, o.stored = o.cur, nil, nil, o.cur
	return true, nil
}

// dropLease closes the lease's connection (which ends the advisory lock
// with its session) after an error on it; the caller holds mu.
func (o *Outbox) dropLease() {
	if o.lease == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = o.lease.Hijack().Close(ctx)
	o.lease = nil
}

// Pending returns up to limit unpublished events (and the now visible
// ones of transactions that were in progress at the last read) in seq
// order; none when another instance holds the relay lease.
func (o *Outbox) Pending(ctx context.Context, limit int) ([]kafka.OutboxRecord, error) {
	o.mu <- struct{}{}
	defer func() { <-o.mu }()
	ok, err := o.holdLease(ctx)
	if err != nil || !ok {
		return nil, err
	}
	c := o.cur
	rows, err := o.lease.Query(ctx, `SELECT seq, event_id, type, source, subject, tenant_id, time, data,
		next_low, next_high, next_pending::text[], next_bounds FROM ch_outbox_pending($1, $2, $3::xid8[], $4, $5)`,
		c.Low, c.High, c.Pending, c.Bounds, limit)
	if err != nil {
		o.dropLease()
		return nil, fmt.Errorf("reading outbox: %w", err)
	}
	defer rows.Close()
	var out []kafka.OutboxRecord
	var read []int64
	var next *outboxCursor
	if !rawOutboxRows(rows.FieldDescriptions()) {
		o.dropLease()
		return nil, errors.New("reading outbox: seq and time did not arrive in binary (a connection without the extended protocol?)")
	}
	for rows.Next() {
		raw := rows.RawValues()
		if raw[0] == nil { // the last row: the cursor after this read
			var nc outboxCursor
			var low, high *int64
			if err := rows.Scan(nil, nil, nil, nil, nil, nil, nil, nil, &low, &high, &nc.Pending, &nc.Bounds); err != nil {
				o.dropLease()
				return nil, fmt.Errorf("reading outbox: %w", err)
			}
			if low == nil || high == nil {
				o.dropLease()
				return nil, errors.New("reading outbox: ch_outbox_read returned no cursor")
			}
			nc.Low, nc.High = *low, *high
			next = &nc
			continue
		}
		// An event row, read from its wire values without a scan plan per
		// column (data as its bytes: PostgreSQL checked its JSON on insert).
		rec := o.decodeRow(raw)
		read = append(read, rec.Seq)
		if o.marked[rec.Seq] {
			continue
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil || next == nil {
		o.dropLease()
		return nil, fmt.Errorf("reading outbox: %w", cmp.Or(err, errors.New("ch_outbox_read returned no cursor")))
	}
	o.next, o.read = *next, read
	if len(out) == 0 {
		// Nothing to publish (or all of it already was): the cursor moves
		// on at once.
		return nil, o.store(ctx, o.next, false)
	}
	return out, nil
}

// rawOutboxRows reports whether a read's event rows can be decoded from
// their wire values: seq and time in binary (what pgx asks for on the
// extended protocol, which the commit path's prepared statement needs
// too), every text column (and data) is its bytes in either format.
func rawOutboxRows(fields []pgconn.FieldDescription) bool {
	return len(fields) == 12 && fields[0].Format == pgx.BinaryFormatCode && fields[6].Format == pgx.BinaryFormatCode
}

// decodeRow is an event row of ch_outbox_pending read from its wire
// values (rawOutboxRows): columns seq (int8, binary), event_id, type,
// source, subject, tenant_id, time (timestamptz, binary) and data, none
// of them NULL in an event row. Nothing refers to raw afterwards: pgx
// reuses it for the next row.
func (o *Outbox) decodeRow(raw [][]byte) kafka.OutboxRecord {
	var rec kafka.OutboxRecord
	e := &rec.Event
	rec.Seq = int64(binary.BigEndian.Uint64(raw[0]))
	e.ID = string(raw[1])
	e.Type, e.Source = o.name(raw[2]), o.name(raw[3])
	e.Subject = string(raw[4])
	e.TenantID = o.name(raw[5])
	e.Time = time.UnixMicro(int64(binary.BigEndian.Uint64(raw[6])) + EpochMicros).UTC()
	e.Data = append(json.RawMessage(nil), raw[7]...)
	e.SpecVersion, e.DataContentType = kafka.SpecVersion, kafka.ContentTypeJSON
	return rec
}

// EpochMicros is 2000-01-01T00:00:00Z in Unix microseconds: the epoch of
// PostgreSQL's binary timestamps (host/postgres writes them too).
const EpochMicros = 946684800 * 1000000

// name returns b as a string, one copy per distinct value (up to 4,096 of
// them; past that, a new string each time). The caller holds mu.
func (o *Outbox) name(b []byte) string {
	if v, ok := o.names[string(b)]; ok {
		return v
	}
	v := string(b)
	if o.names == nil {
		o.names = make(map[string]string)
	}
	if len(o.names) < 4096 {
		o.names[v] = v
	}
	return v
}

// MarkSent records that Kafka acknowledged the events with these seqs.
// When they are all the last read returned, the relay's cursor moves on
// and is stored (one single-row update per batch). When they are part of
// it (a batch acknowledged in part), the cursor moves up to the last of
// the unbroken run of marked rows, provided every row of the last read's
// earlier transactions is among them; the rest are remembered, and the
// next read skips them.
func (o *Outbox) MarkSent(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	o.mu <- struct{}{}
	defer func() { <-o.mu }()
	if o.lease == nil {
		return nil // the lease was lost: the next leader publishes them again (at least once)
	}
	if o.marked == nil {
		o.marked = map[int64]bool{}
	}
	for _, s := range seqs {
		o.marked[s] = true
	}
	// o.read is in seq order: the late rows (at most cur.High) first.
	upTo := int64(-1)
	for _, s := range o.read {
		if !o.marked[s] {
			break
		}
		upTo = s
	}
	switch {
	case len(o.read) > 0 && upTo == o.read[len(o.read)-1]:
		return o.store(ctx, o.next, true)
	case upTo > o.cur.High:
		// Every late row and the fresh ones up to upTo are published: the
		// snapshot's transactions still cover what is missing below upTo.
		part := o.next
		part.High, part.Low = upTo, min(part.Low, upTo)
		return o.store(ctx, part, true)
	}
	return nil
}

// store makes c the relay's cursor, in memory and, with persist, in
// outbox_cursors (when it differs from what is there); the rows of the
// last read at or below c.High are forgotten. A cursor kept in memory
// only differs from the stored one by reads that published nothing, so a
// new leader starting from the stored one publishes nothing twice for
// it. The caller holds mu and the lease.
func (o *Outbox) store(ctx context.Context, c outboxCursor, persist bool) error {
	if persist && (c.Low != o.stored.Low || c.High != o.stored.High || !slices.Equal(c.Pending, o.stored.Pending) || !slices.Equal(c.Bounds, o.stored.Bounds)) {
		if _, err := o.lease.Exec(ctx, `UPDATE outbox_cursors SET low = $2, high = $3, pending = $4::xid8[], bounds = $5, updated_at = $6
			WHERE name = $1`, relayCursor, c.Low, c.High, c.Pending, c.Bounds, o.db.Now()); err != nil {
			o.dropLease()
			return fmt.Errorf("storing the relay's cursor: %w", err)
		}
		o.stored = c
	}
	o.cur = c
	o.read = slices.DeleteFunc(o.read, func(s int64) bool { return s <= c.High })
	maps.DeleteFunc(o.marked, func(s int64, _ bool) bool { return s <= c.High })
	return nil
}

// Published returns up to limit events Kafka acknowledged (and the prune
// has not deleted yet) whose seq is above afterSeq and whose time is not
// before since, in seq order: the history that outbox.Relay.Replay
// publishes again into a broker that lost it (the embedded, in-memory
// broker after a restart). It needs no relay lease: it changes nothing.
func (o *Outbox) Published(ctx context.Context, afterSeq int64, since time.Time, limit int) ([]kafka.OutboxRecord, error) {
	rows, err := o.db.pool.Query(ctx, `SELECT o.seq, o.event_id, o.type, o.source, o.subject, o.tenant_id, o.time, o.data
		FROM outbox o, outbox_cursors c
		WHERE c.name = $4 AND o.seq > $1 AND o.seq <= c.high AND NOT (o.seq > c.low AND o.xid::xid = ANY (c.pending::xid[])) AND o.time >= $2
		ORDER BY o.seq LIMIT $3`, afterSeq, since, limit, relayCursor)
	if err != nil {
		return nil, fmt.Errorf("reading published outbox rows: %w", err)
	}
	return pgx.CollectRows(rows, scanOutboxRecord)
}

func scanOutboxRecord(r pgx.CollectableRow) (kafka.OutboxRecord, error) {
	var rec kafka.OutboxRecord
	e := &rec.Event
	err := r.Scan(&rec.Seq, &e.ID, &e.Type, &e.Source, &e.Subject, &e.TenantID, &e.Time, (*[]byte)(&e.Data))
	e.SpecVersion, e.DataContentType = kafka.SpecVersion, kafka.ContentTypeJSON
	e.Time = e.Time.UTC()
	return rec, err
}

// Lag returns how many events wait to be published (as far as the stored
// cursor says) and when the oldest was written (zero time when none).
func (o *Outbox) Lag(ctx context.Context) (int64, time.Time, error) {
	return o.db.Backlog(ctx, relayCursor)
}

// Backlog returns how many outbox rows the reader of a cursor ("relay",
// "webhooks") has not handled, as far as its stored cursor says, and the
// time of the oldest (zero when none).
func (db *DB) Backlog(ctx context.Context, cursor string) (int64, time.Time, error) {
	var n int64
	var oldest *time.Time
	if err := db.pool.QueryRow(ctx, `SELECT n, oldest FROM ch_outbox_backlog($1)`, cursor).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("reading the %s backlog: %w", cursor, err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, oldest.UTC(), nil
}

// Close releases the relay lease.
func (o *Outbox) Close() {
	o.mu <- struct{}{}
	defer func() { <-o.mu }()
	if o.lease != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := o.lease.Exec(ctx, `SELECT pg_advisory_unlock(`+lockKey("relay")+`)`); err != nil {
			// Do not return a connection that may still hold the lock to the pool.
			_ = o.lease.Hijack().Close(ctx)
		} else {
			o.lease.Release()
		}
		o.lease = nil
	}
}

// PruneOutbox deletes events written before before that both the relay
// and the webhook dispatcher have handled (at or below both cursors' low,
// migration 0070) among the limit oldest rows of the outbox, and returns
// how many it deleted. It looks only at the head of the table, so a pass
// over a table with nothing to prune costs one short index scan; call it
// again while it deletes something.
func (db *DB) PruneOutbox(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM outbox WHERE seq IN (
		SELECT seq FROM (SELECT seq, time FROM outbox ORDER BY seq LIMIT $2) head
		WHERE time < $1 AND seq <= (SELECT min(low) FROM outbox_cursors WHERE name IN ('relay', 'webhooks')))`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("pruning outbox: %w", err)
	}
	return tag.RowsAffected(), nil
}
