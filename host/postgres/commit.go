package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardhost/cardhost/host"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/kafka"
)

// The one commit path: every host.Commit, grouped or alone, optimistic or
// locked, is encoded by encodeCommits, applied by the PL/pgSQL function
// ch_commit_group (migration 0033; 0075 takes its records and events in
// binary) and its answer mapped to a host.CommitOutcome by commitGroup.

// commitSQL is the one SQL entry point of every commit. The casts choose
// 0075's overload (0071's stays for a rolling upgrade) and type the
// parameters, which are sent in binary without OIDs.
const commitSQL = `SELECT item, outcome FROM ch_commit_group($1::ch_commit_item[], $2::authorizations[], $3::ch_commit_event[], $4::timestamptz)`

// commitStmt is commitSQL's prepared statement name on each connection.
const commitStmt = "cardhost_commit_group"

// commitFormats sends every parameter of commitSQL in binary.
var commitFormats = []int16{pgx.BinaryFormatCode}

// Commit implements host.Ledger. Commits from concurrent requests are
// grouped (see commitBatcher): many share one PostgreSQL round trip and one
// WAL flush, and none is answered before its transaction is durable.
func (l *Ledger) Commit(ctx context.Context, c *host.Commit) (host.CommitOutcome, *host.Authorization, error) {
	o, err := l.batcher.commit(ctx, c)
	if err != nil {
		return 0, nil, issuancepg.WrapUnavailable(fmt.Errorf("committing authorization: %w", err))
	}
	o, a, err := l.settle(ctx, c, o)
	return o, a, issuancepg.WrapUnavailable(err)
}

// errNotDone rolls back a locked commit that did not apply.
var errNotDone = errors.New("commit not applied")

// CommitLocked implements host.Ledger: the card row is read FOR UPDATE, so
// every other commit of the card (grouped or locked, from any instance)
// waits for this transaction, decide runs on it, and its commit is applied
// through the same entry point as every other, as a group of one in the
// same transaction. It is not grouped: it is the rare path of a card
// contended across instances.
func (l *Ledger) CommitLocked(ctx context.Context, cardID string, decide func(*host.Card) (*host.Commit, error)) (host.CommitOutcome, *host.Authorization, error) {
	select {
	case l.locked <- struct{}{}:
		defer func() { <-l.locked }()
	case <-ctx.Done():
		return 0, nil, issuancepg.WrapUnavailable(fmt.Errorf("waiting for a locked commit slot: %w", ctx.Err()))
	}
	var (
		c *host.Commit
		o host.CommitOutcome
	)
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		card, err := l.card(ctx, tx, `id = $1 FOR UPDATE`, cardID)
		if err != nil {
			return err
		}
		if card.Funded() { // its balance, exact for this decision (card first, then account: every writer's order)
			var totals []int64
			err := tx.QueryRow(ctx, `SELECT ARRAY[debits_pending, debits_posted, credits_pending, credits_posted] FROM ledger_accounts
				WHERE id = $1 FOR UPDATE`, card.FundingAccount).Scan(&totals)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("locking funding account: %w", err)
			}
			card.Source = sourceAccount(card, totals)
		}
		if c, err = decide(card); err != nil {
			return err
		}
		if o, err = l.commitOne(ctx, tx, c); err != nil {
			return fmt.Errorf("committing authorization: %w", err)
		}
		if o != host.CommitDone {
			return errNotDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNotDone) {
		return 0, nil, issuancepg.WrapUnavailable(err)
	}
	o, a, err := l.settle(ctx, c, o)
	return o, a, issuancepg.WrapUnavailable(err)
}

// settle completes a commit's answer: a done commit that wrote events wakes
// the outbox relay; a duplicate comes with the stored record.
func (l *Ledger) settle(ctx context.Context, c *host.Commit, o host.CommitOutcome) (host.CommitOutcome, *host.Authorization, error) {
	switch o {
	case host.CommitDone:
		if len(c.Events) > 0 {
			l.db.Committed()
		}
	case host.CommitDuplicate:
		existing, err := l.AuthorizationByKey(ctx, c.Record.MatchKey)
		if err != nil {
			return 0, nil, fmt.Errorf("reading the stored original of a retransmission: %w", err)
		}
		return o, existing, nil
	}
	return o, nil, nil
}

// querier is where a read or a commit runs: the pool (its own
// transaction) or a locked commit's transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// outcomes maps ch_commit_group's answer for one decision to its outcome.
var outcomes = map[string]host.CommitOutcome{
	"done":      host.CommitDone,
	"stale":     host.CommitStale,
	"duplicate": host.CommitDuplicate,
}

// races maps what ch_commit_group raises for a race that slipped past its
// checks (rolling the whole call back) to the outcome it means for a group
// of one: CH001 an original changed, CH002 a concurrent duplicate (and
// uniqueRaces).
var races = map[string]host.CommitOutcome{
	"CH001": host.CommitStale,
	"CH002": host.CommitDuplicate,
	"CH003": host.CommitStale, // a debit beyond a customer balance: decide on a fresh read
}

// uniqueRaces maps the unique indexes whose violation (23505) is such a
// race to its outcome.
var uniqueRaces = map[string]host.CommitOutcome{
	"authorizations_match_key":       host.CommitDuplicate, // a concurrent group stored the same request (0071)
	"ledger_transfers_resolves_once": host.CommitStale,     // the hold was resolved meanwhile
}

// commitGroup applies decisions with one ch_commit_group call, one round
// trip and one transaction (q's), and returns their outcomes in order. A
// group of one reads a race as its outcome; for a larger group a race is
// an error like any other: the call rolled back whole and its decisions are
// to be committed each on its own.
func (l *Ledger) commitGroup(ctx context.Context, q querier, cs []*host.Commit) ([]host.CommitOutcome, error) {
	types, err := l.commitTypes(ctx, q)
	if err != nil {
		return nil, err
	}
	bufs := commitBuffers.Get().(*[3][]byte)
	defer putCommitBuffers(bufs)
	params, err := encodeCommits(cs, l.db.Now(), types, bufs)
	if err != nil {
		return nil, err
	}
	out := make([]host.CommitOutcome, len(cs))
	err = onConn(ctx, q, func(c *pgx.Conn) error {
		// Prepared once per connection (pgx keeps it by name), so that a
		// group is bound and executed without parsing and planning the call.
		if _, err := c.Prepare(ctx, commitStmt, commitSQL); err != nil {
			return err
		}
		rr := c.PgConn().ExecPrepared(ctx, commitStmt, params, commitFormats, nil)
		for rr.NextRow() {
			v := rr.Values()
			if len(v) != 2 {
				continue
			}
			if idx, err := strconv.Atoi(string(v[0])); err == nil && idx >= 1 && idx <= len(out) {
				out[idx-1] = outcomes[string(v[1])]
			}
		}
		_, err := rr.Close()
		return err
	})
	var pgErr *pgconn.PgError
	if len(cs) == 1 && errors.As(err, &pgErr) {
		if o, ok := uniqueRaces[pgErr.ConstraintName]; ok && pgErr.Code == "23505" {
			return []host.CommitOutcome{o}, nil
		}
		if o, ok := races[pgErr.Code]; ok {
			return []host.CommitOutcome{o}, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("committing group: %w", err)
	}
	for _, o := range out {
		if o == 0 {
			return nil, errors.New("committing group: an outcome is missing")
		}
	}
	return out, nil
}

// commitTypeOIDs are the OIDs of the row types commitSQL's binary
// arrays hold, in the connection's schema.
type commitTypeOIDs struct{ items, records, events, transfer, transfers uint32 }

// commitTypes looks the OIDs up once (they are the schema's, fixed after
// its migrations).
func (l *Ledger) commitTypes(ctx context.Context, q querier) (commitTypeOIDs, error) {
	if t := l.types.Load(); t != nil {
		return *t, nil
	}
	var t commitTypeOIDs
	err := q.QueryRow(ctx, `SELECT 'ch_commit_item'::regtype::oid, 'authorizations'::regtype::oid, 'ch_commit_event'::regtype::oid,
		'ch_transfer'::regtype::oid, 'ch_transfer[]'::regtype::oid`).Scan(&t.items, &t.records, &t.events, &t.transfer, &t.transfers)
	if err != nil {
		return t, fmt.Errorf("looking up the commit's row types: %w", err)
	}
	l.types.Store(&t)
	return t, nil
}

// onConn runs f on q's connection: the locked commit's transaction, or a
// connection of the pool for one implicit transaction.
func onConn(ctx context.Context, q querier, f func(*pgx.Conn) error) error {
	switch q := q.(type) {
	case pgx.Tx:
		return f(q.Conn())
	case *pgxpool.Pool:
		c, err := q.Acquire(ctx)
		if err != nil {
			return err
		}
		defer c.Release()
		return f(c.Conn())
	}
	return fmt.Errorf("committing: no connection in %T", q)
}

// commitOne applies one decision as a group of one.
func (l *Ledger) commitOne(ctx context.Context, q querier, c *host.Commit) (host.CommitOutcome, error) {
	out, err := l.commitGroup(ctx, q, []*host.Commit{c})
	if err != nil {
		return 0, err
	}
	return out[0], nil
}

// commitEvent is one event of ch_commit_group's p_events, tagged with its
// decision's idx.
type commitEvent struct {
	Idx int `json:"idx"`
	kafka.Event
}

// encodeCommits renders decisions as commitSQL's parameters, in binary:
// the one encoder of host.Commit. Item idx is the decision's 1-based
// position, and records are in the same order. The items, records and
// events are appended to bufs' three buffers (emptied first), which the
// parameters then share until the call is done.
func encodeCommits(cs []*host.Commit, now time.Time, types commitTypeOIDs, bufs *[3][]byte) ([][]byte, error) {
	records := make([]*host.Authorization, len(cs))
	events := make([]commitEvent, 0, len(cs))
	for i, c := range cs {
		records[i] = c.Record
		for _, e := range c.Events {
			events = append(events, commitEvent{Idx: i + 1, Event: e})
		}
	}
	p := make([][]byte, 4)
	// Each buffer is made about the size it ends at (a decision's item is
	// some 600 bytes with its transfers, a record 1,100, an event 1,000),
	// so that it is not copied as it grows.
	w := wire{b: slices.Grow(bufs[0][:0], 64+len(cs)*768)}
	if err := appendItems(&w, types, cs); err != nil {
		return nil, fmt.Errorf("encoding commit: %w", err)
	}
	p[0], bufs[0] = w.b, w.b
	w = wire{b: slices.Grow(bufs[1][:0], 64+len(cs)*1280)}
	if err := appendRecords(&w, types.records, records); err != nil {
		return nil, fmt.Errorf("encoding commit: %w", err)
	}
	p[1], bufs[1] = w.b, w.b
	w = wire{b: slices.Grow(bufs[2][:0], 64+len(events)*1152)}
	appendCommitEvents(&w, types.events, events)
	p[2], bufs[2] = w.b, w.b
	p[3] = binary.BigEndian.AppendUint64(nil, uint64(pgMicros(now)))
	return p, nil
}

// commitBuffers keeps the encoding buffers of finished commits, so that a
// group does not allocate (and zero) some 100 KB anew: pgx has copied the
// parameters into its own message by the time ExecPrepared returns.
var commitBuffers = sync.Pool{New: func() any { return new([3][]byte) }}

// putCommitBuffers returns bufs to the pool, dropping any buffer an
// unusually large group grew beyond 1 MB.
func putCommitBuffers(bufs *[3][]byte) {
	for i, b := range bufs {
		if cap(b) > 1<<20 {
			bufs[i] = nil
		}
	}
	commitBuffers.Put(bufs)
}

// decidedBy is the stored decided_by: host when the record says nothing.
func decidedBy(d host.DecidedBy) string {
	if d == "" {
		return string(host.DecidedByHost)
	}
	return string(d)
}
