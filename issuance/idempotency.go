package issuance

import (
	"context"
	"time"
)

// Idempotency (DESIGN.md "REST API"): a POST with an Idempotency-Key is
// claimed before it runs; the same key and body later replays the stored
// response; a different body is rejected; a request still running answers
// 409.

// IdempotencyTTL is how long a key and its response are kept.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyClaim is a request asking to run under an idempotency key.
type IdempotencyClaim struct {
	TenantID    string
	Key         string
	Method      string
	Path        string
	RequestHash []byte // keyed digest (HMAC-SHA-256) of the request body
	Now         time.Time
	// LockFor is how long the claim holds the key before another request may
	// take it over (a crashed process must not block the key for 24 h).
	LockFor time.Duration
}

// IdempotencyOutcome says what to do with a claimed request.
type IdempotencyOutcome int

// Outcomes of an idempotency claim.
const (
	IdempotencyProceed    IdempotencyOutcome = iota + 1 // claimed: run the request
	IdempotencyReplay                                   // done before: replay Response
	IdempotencyInProgress                               // same key still running: 409
	IdempotencyMismatch                                 // same key, other request: 422
)

// StoredResponse is the response kept for replays.
type StoredResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// IdempotencyStore persists idempotency keys. Implementations must make
// Claim atomic: of two concurrent claims with the same key exactly one
// proceeds.
type IdempotencyStore interface {
	Claim(ctx context.Context, c IdempotencyClaim) (IdempotencyOutcome, StoredResponse, error)
	// Complete stores the response for a claimed key.
	Complete(ctx context.Context, tenantID, key string, resp StoredResponse) error
	// Release forgets a claimed key whose request failed without a
	// definitive answer (5xx), so the client may retry.
	Release(ctx context.Context, tenantID, key string) error
	// PurgeIdempotency deletes keys that expired before now; returns the count.
	PurgeIdempotency(ctx context.Context, now time.Time) (int64, error)
}
