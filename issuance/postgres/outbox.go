package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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
// so that one relay in a cluster publishes and per-key order holds. Safe for
// concurrent use.
type Outbox struct {
	db *DB
	mu chan struct{} // 1-slot semaphore guarding lease
	// lease is the connection holding the advisory lock (nil: not leader).
	lease *pgxpool.Conn
}

// Outbox returns the relay's view of the outbox table (one per DB; Close
// releases its lease, and DB.Close closes it).
func (db *DB) Outbox() *Outbox {
	db.outboxOnce.Do(func() { db.outbox = &Outbox{db: db, mu: make(chan struct{}, 1)} })
	return db.outbox
}

// holdLease makes sure this instance holds the relay lease, returning
// whether it does. A lost connection loses the lease; the next call tries
// to take it again.
func (o *Outbox) holdLease(ctx context.Context) (bool, error) {
	if o.lease != nil {
		if err := o.lease.Ping(ctx); err == nil {
			return true, nil
		}
		o.lease.Release()
		o.lease = nil
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
	return true, nil
}

// Pending returns up to limit unsent events in seq order; none when another
// instance holds the relay lease.
func (o *Outbox) Pending(ctx context.Context, limit int) ([]kafka.OutboxRecord, error) {
	o.mu <- struct{}{}
	defer func() { <-o.mu }()
	ok, err := o.holdLease(ctx)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := o.db.pool.Query(ctx, `SELECT seq, event_id, type, source, subject, tenant_id, time, data
		FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("reading outbox: %w", err)
	}
	return pgx.CollectRows(rows, scanOutboxRecord)
}

func scanOutboxRecord(r pgx.CollectableRow) (kafka.OutboxRecord, error) {
	var rec kafka.OutboxRecord
	e := &rec.Event
	err := r.Scan(&rec.Seq, &e.ID, &e.Type, &e.Source, &e.Subject, &e.TenantID, &e.Time, &e.Data)
	e.SpecVersion, e.DataContentType = kafka.SpecVersion, kafka.ContentTypeJSON
	e.Time = e.Time.UTC()
	return rec, err
}

// Published returns up to limit events Kafka acknowledged (and the prune
// has not deleted yet) whose seq is above afterSeq and whose time is not
// before since, in seq order: the history that outbox.Relay.Replay
// publishes again into a broker that lost it (the embedded, in-memory
// broker after a restart). It needs no relay lease: it changes nothing.
func (o *Outbox) Published(ctx context.Context, afterSeq int64, since time.Time, limit int) ([]kafka.OutboxRecord, error) {
	rows, err := o.db.pool.Query(ctx, `SELECT seq, event_id, type, source, subject, tenant_id, time, data
		FROM outbox WHERE sent_at IS NOT NULL AND seq > $1 AND time >= $2 ORDER BY seq LIMIT $3`, afterSeq, since, limit)
	if err != nil {
		return nil, fmt.Errorf("reading published outbox rows: %w", err)
	}
	return pgx.CollectRows(rows, scanOutboxRecord)
}

// MarkSent records that the events with these seqs were acknowledged by
// Kafka.
func (o *Outbox) MarkSent(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := o.db.pool.Exec(ctx, `UPDATE outbox SET sent_at = $2 WHERE seq = ANY($1) AND sent_at IS NULL`, seqs, o.db.Now()); err != nil {
		return fmt.Errorf("marking outbox sent: %w", err)
	}
	return nil
}

// Lag returns how many events wait to be published and when the oldest was
// written (zero time when none).
func (o *Outbox) Lag(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var oldest *time.Time
	err := o.db.pool.QueryRow(ctx, `SELECT count(*), min(time) FROM outbox WHERE sent_at IS NULL`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("reading outbox lag: %w", err)
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

// PruneOutbox deletes events Kafka acknowledged before sentBefore among the
// limit oldest rows of the outbox, and returns how many it deleted. Unsent
// events are never deleted, nor events the webhook dispatcher has not yet
// moved to its event store (dispatched_at, migration 0040). It looks only at the head of the table (rows
// are sent in seq order), so a pass over a table with nothing to prune
// costs one short index scan; call it again while it deletes something.
func (db *DB) PruneOutbox(ctx context.Context, sentBefore time.Time, limit int) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM outbox WHERE seq IN (
		SELECT seq FROM (SELECT seq, sent_at, dispatched_at FROM outbox ORDER BY seq LIMIT $2) head
		WHERE sent_at < $1 AND dispatched_at IS NOT NULL)`, sentBefore, limit)
	if err != nil {
		return 0, fmt.Errorf("pruning outbox: %w", err)
	}
	return tag.RowsAffected(), nil
}
