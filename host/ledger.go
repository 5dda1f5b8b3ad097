package host

import (
	"context"
	"errors"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// ErrNotFound is returned by Ledger look-ups that find nothing.
var ErrNotFound = errors.New("host: not found")

// ErrUnavailable is wrapped by Ledger errors (and by Verifier errors, when
// the HSM's key store is the same database) that mean the store could not
// be reached or did not answer in time (connection refused or lost, a
// statement or the request's deadline exceeded), as opposed to a query
// that failed. The request could not be decided now but may be in a
// moment, without any change on the host: the ISO server answers 91
// (issuer or switch inoperative) for it, so that networks stand in,
// instead of 96.
var ErrUnavailable = errors.New("host: ledger unavailable")

// Ledger is the host's persistence, implemented by host/postgres.
// Every method is safe for concurrent use, returns by ctx's deadline, and
// wraps ErrUnavailable in errors that mean the store is unreachable.
type Ledger interface {
	// CardByPANIndex returns the card with one of these keyed PAN indexes
	// (one per live version of the PAN-index key, in one read), or
	// ErrNotFound.
	CardByPANIndex(ctx context.Context, indexes [][]byte) (*Card, error)
	// Reindex replaces a card's PAN index (written under an older version
	// of the PAN-index key) with index, the newest. Only the index
	// changes (not the card's version). ErrNotFound when the card is gone
	// or no longer has the index from.
	Reindex(ctx context.Context, cardID string, from, to []byte) error
	// CardByID returns a card by id, or ErrNotFound.
	CardByID(ctx context.Context, id string) (*Card, error)
	// AuthorizationByKey returns the record with this match key, or
	// ErrNotFound.
	AuthorizationByKey(ctx context.Context, key string) (*Authorization, error)
	// FindOriginal returns the authorization a capture or reversal refers
	// to, or ErrNotFound.
	FindOriginal(ctx context.Context, q OriginalQuery) (*Authorization, error)
	// Acquirers returns every acquirer (field 32) with its keys and
	// settings. The engine keeps them in memory (Config.AcquirerTTL).
	Acquirers(ctx context.Context) ([]Acquirer, error)
	// Commit applies c atomically (one transaction): it reports
	// CommitStale when the card or the original changed since they were
	// read, CommitDuplicate (with the stored record) when a record with
	// c.Record.MatchKey exists, and writes nothing in either case. An
	// error wrapping ErrUnavailable after the commit was sent leaves its
	// outcome unknown (the reply was lost): the commit happened or not,
	// whole; a retransmission of the request then finds it by match key.
	Commit(ctx context.Context, c *Commit) (CommitOutcome, *Authorization, error)
	// CommitLocked reads the card with id cardID under a lock that every
	// other commit of that card (in any instance) waits for, calls decide
	// with it and commits the result like Commit, in the same transaction.
	// It is the engine's way out when optimistic commits keep finding the
	// card changed by other instances: the locked decision cannot lose the
	// race. decide's error is returned as is.
	CommitLocked(ctx context.Context, cardID string, decide func(*Card) (*Commit, error)) (CommitOutcome, *Authorization, error)
}

// OriginalQuery identifies the original of a capture or reversal: field 90
// plus the terminal; RRN, terminal and acquirer as a fallback when field 90
// is absent. AcquirerID is field 90's original acquirer, or the request's
// field 32 for the fallback; an original of another acquirer never
// matches.
type OriginalQuery struct {
	CardID           string
	MTI              string // original MTI ("" when unknown)
	STAN             string
	TransmissionTime string
	AcquirerID       string
	Terminal         string
	RRN              string
}

// Commit is everything one decision changes.
type Commit struct {
	// CardID and CardVersion guard the commit; "" when no card was found.
	CardID      string
	CardVersion int64
	// State, when non-nil, replaces the card's authorization state
	// (version + 1). Nil: the card must still be at CardVersion, unchanged.
	State *State
	// Status, when set, moves the card (one-time cancellation).
	Status       issuance.Status
	StatusReason string
	// Record is the message's own record, inserted.
	Record *Authorization
	// Original, when non-nil, is updated (captured/reversed/held/status),
	// guarded by its Version.
	Original *Authorization
	// Events are written to the outbox after the card update.
	Events []kafka.Event
}

// CommitOutcome is the result of Ledger.Commit.
type CommitOutcome int

// Commit outcomes.
const (
	CommitDone      CommitOutcome = iota + 1 // written
	CommitStale                              // card or original changed: decide again
	CommitDuplicate                          // match key taken: a retransmission
)
