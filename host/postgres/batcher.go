package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cardhost/cardhost/host"
)

// commitBatcher implements group commit for the authorization host. Each
// worker takes the decisions waiting in the queue (up to a batch size) and
// commits them together through the one commit path (commitGroup): one
// ch_commit_group call, one round trip and one transaction (one WAL flush
// for the whole group), a few set-based statements whatever the group's
// size.
//
// A caller gets its outcome only after the group's transaction committed.
// If anything in a group fails (a race raising inside the function, or a
// database error), the group rolls back as a whole and each decision is
// committed again on its own, as a group of one. Batches form naturally: a worker takes what
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
	outcome host.CommitOutcome
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
func (b *commitBatcher) commit(ctx context.Context, c *host.Commit) (host.CommitOutcome, error) {
	r := &commitRequest{ctx: ctx, c: c, done: make(chan commitResult, 1)}
	select {
	case b.queue <- r:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-b.stop:
		return 0, errLedgerClosed
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
		latest = time.Now().Add(b.l.commitTimeout)
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
	cs := make([]*host.Commit, len(live))
	for i, r := range live {
		cs[i] = r.c
	}
	out, err := b.l.commitGroup(ctx, b.l.pool, cs)
	if err != nil && len(live) > 1 {
		// The group's transaction rolled back: commit each on its own.
		for _, r := range live {
			o, err := b.l.commitOne(ctx, b.l.pool, r.c)
			r.done <- commitResult{o, err}
		}
		return
	}
	for i, r := range live {
		res := commitResult{err: err}
		if err == nil {
			res.outcome = out[i]
		}
		r.done <- res
	}
}
