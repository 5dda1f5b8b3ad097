package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/kafka"
)

// commitBatcher implements group commit for the authorization host. Each
// worker takes the decisions waiting in the queue (up to a batch size) and
// commits them together, in one round trip and one transaction (one WAL
// flush for the whole group):
//
//   - decisions without an original to update (authorizations, financial
//     requests, advices, declines: nearly all of them) go to
//     ch_commit_batch, which applies the group with a few set-based
//     statements;
//   - captures and reversals, which also update their original, go through
//     ch_commit one by one, pipelined in the same round trip.
//
// A caller gets its outcome only after the group's transaction committed.
// If anything in a group fails (a race raising inside the functions, or a
// database error), the group rolls back as a whole and each decision is
// committed again on its own. Batches form naturally: a worker takes what
// queued while the previous group was committing, so a lone request is
// never delayed waiting for company.
type commitBatcher struct {
	l     *Ledger
	size  int
	queue chan *commitRequest
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

type commitRequest struct {
	ctx  context.Context
	c    *host.Commit
	done chan commitResult
}

type commitResult struct {
	outcome string
	err     error
}

var errLedgerClosed = errors.New("ledger closed")

func newCommitBatcher(l *Ledger, size, workers int) *commitBatcher {
	b := &commitBatcher{l: l, size: size, queue: make(chan *commitRequest, size*workers*4), stop: make(chan struct{})}
	for range workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// commit queues one decision and waits for its outcome. Once a worker has
// taken it, commit waits for the group's transaction to end even if ctx
// ends first, so that it never reports a failure for a commit that
// happened; the group itself is bounded by the latest deadline of its
// members (see groupContext), so a database that stops answering cannot
// hold commit past it. Then the outcome is an error: the group rolled
// back, or (if only its reply was lost) committed whole.
func (b *commitBatcher) commit(ctx context.Context, c *host.Commit) (string, error) {
	r := &commitRequest{ctx: ctx, c: c, done: make(chan commitResult, 1)}
	select {
	case b.queue <- r:
	case <-ctx.Done():
		return "", ctx.Err()
	case <-b.stop:
		return "", errLedgerClosed
	}
	res := <-r.done
	return res.outcome, res.err
}

func (b *commitBatcher) close() {
	b.once.Do(func() { close(b.stop) })
	b.wg.Wait()
}

func (b *commitBatcher) work() {
	defer b.wg.Done()
	group := make([]*commitRequest, 0, b.size)
	for {
		group = group[:0]
		select {
		case r := <-b.queue:
			group = append(group, r)
		case <-b.stop:
			b.drain()
			return
		}
	fill:
		for len(group) < b.size {
			select {
			case r := <-b.queue:
				group = append(group, r)
			default:
				break fill
			}
		}
		b.run(group)
	}
}

// drain answers what is still queued at close.
func (b *commitBatcher) drain() {
	for {
		select {
		case r := <-b.queue:
			r.done <- commitResult{err: errLedgerClosed}
		default:
			return
		}
	}
}

// groupContext is the context a group is committed under: not canceled
// when a member's caller gives up (the members wait for the outcome), but
// ending at the latest deadline among the members (each caller's own
// bound, e.g. the ISO decision timeout), or after commitTimeout when none
// has a deadline. Without it a blackholed connection (no reset, no
// answer) would hold the group, its callers and Close forever.
func (b *commitBatcher) groupContext(live []*commitRequest) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, r := range live {
		d, ok := r.ctx.Deadline()
		if !ok {
			latest = time.Time{}
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	if latest.IsZero() {
		latest = time.Now().Add(b.l.db.commitTimeout())
	}
	return context.WithDeadline(context.WithoutCancel(live[0].ctx), latest)
}

// run commits one group. Requests whose context already ended are not
// sent (their callers have gone); the others all get an outcome.
func (b *commitBatcher) run(group []*commitRequest) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- commitResult{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := b.groupContext(live)
	defer cancel()
	if len(live) == 1 {
		outcome, err := b.l.commitOne(ctx, live[0].c)
		live[0].done <- commitResult{outcome, err}
		return
	}
	outcomes, err := b.l.commitGroup(ctx, live)
	if err == nil {
		for i, r := range live {
			r.done <- commitResult{outcome: outcomes[i]}
		}
		return
	}
	// The group's transaction rolled back: commit each on its own.
	for _, r := range live {
		outcome, err := b.l.commitOne(ctx, r.c)
		r.done <- commitResult{outcome, err}
	}
}

const commitBatchSQL = `SELECT item, outcome FROM ch_commit_batch($1, $2, $3, $4)`

// groupItem is one decision of ch_commit_batch's p_items.
type groupItem struct {
	Idx          int                     `json:"idx"`
	CardID       *string                 `json:"card_id"`
	CardVersion  int64                   `json:"card_version"`
	Upd          bool                    `json:"upd"`
	Spend        map[string]host.Counter `json:"spend"`
	TotalSpent   int64                   `json:"total_spent"`
	LastATC      int                     `json:"last_atc"`
	PINTries     int                     `json:"pin_tries"`
	UsedAt       *time.Time              `json:"used_at"`
	Status       *string                 `json:"status"`
	StatusReason string                  `json:"status_reason"`
	MatchKey     string                  `json:"match_key"`
}

// groupEvent is one event of ch_commit_batch's p_events.
type groupEvent struct {
	Idx int `json:"idx"`
	kafka.Event
}

// commitGroup commits the decisions of a group in one round trip and one
// transaction: those without an original through ch_commit_batch, the
// others through ch_commit, all in one pipelined batch that PostgreSQL runs
// as one implicit transaction. It returns each request's outcome.
func (l *Ledger) commitGroup(ctx context.Context, group []*commitRequest) ([]string, error) {
	var items []groupItem
	var records []recordRow
	var events []groupEvent
	var simple []int // positions in group of the items
	batch := &batchBuilder{}
	var singles []int
	for gi, r := range group {
		c := r.c
		if c.Original != nil {
			args, err := l.commitArgs(c)
			if err != nil {
				return nil, err
			}
			batch.queue(commitSQL, args...)
			singles = append(singles, gi)
			continue
		}
		idx := len(items) + 1
		it := groupItem{Idx: idx, CardID: nullString(c.CardID), CardVersion: c.CardVersion, Upd: c.State != nil, MatchKey: c.Record.MatchKey}
		if c.State != nil {
			it.Spend, it.TotalSpent, it.LastATC, it.PINTries, it.UsedAt = c.State.Spend, c.State.TotalSpent, c.State.LastATC, c.State.PINTries, c.State.UsedAt
			if it.Spend == nil {
				it.Spend = map[string]host.Counter{}
			}
		}
		if c.Status != "" {
			st := string(c.Status)
			it.Status, it.StatusReason = &st, c.StatusReason
		}
		items = append(items, it)
		records = append(records, newRecordRow(c.Record))
		for _, e := range c.Events {
			events = append(events, groupEvent{Idx: idx, Event: e})
		}
		simple = append(simple, gi)
	}
	outcomes := make([]string, len(group))
	if len(items) > 0 {
		pItems, err := json.Marshal(items)
		if err != nil {
			return nil, fmt.Errorf("encoding group: %w", err)
		}
		pRecords, err := json.Marshal(records)
		if err != nil {
			return nil, fmt.Errorf("encoding group: %w", err)
		}
		pEvents := []byte("[]")
		if len(events) > 0 {
			if pEvents, err = json.Marshal(events); err != nil {
				return nil, fmt.Errorf("encoding group: %w", err)
			}
		}
		batch.queue(commitBatchSQL, pItems, pRecords, string(pEvents), l.db.Now())
	}
	br := l.db.pool.SendBatch(ctx, &batch.b)
	var first error
	for _, gi := range singles {
		var outcome string
		err := br.QueryRow().Scan(&outcome)
		if outcome, err = mapCommitError(outcome, err); err != nil && first == nil {
			first = err
		}
		outcomes[gi] = outcome
	}
	if len(items) > 0 {
		rows, err := br.Query()
		if err == nil {
			for rows.Next() {
				var idx int
				var outcome string
				if err := rows.Scan(&idx, &outcome); err != nil && first == nil {
					first = err
				}
				if idx >= 1 && idx <= len(simple) {
					outcomes[simple[idx-1]] = outcome
				}
			}
			err = rows.Err()
			rows.Close()
		}
		if err != nil && first == nil {
			first = err
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	if first != nil {
		return nil, first
	}
	for _, o := range outcomes {
		if o == "" {
			return nil, errors.New("committing group: an outcome is missing")
		}
	}
	return outcomes, nil
}

// batchBuilder wraps pgx.Batch.
type batchBuilder struct{ b pgx.Batch }

func (bb *batchBuilder) queue(sql string, args ...any) { bb.b.Queue(sql, args...) }
