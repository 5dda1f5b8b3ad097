package webhook

import (
	"context"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// Store persists endpoints, deliveries and attempts, and reads the events
// (the outbox's rows: the outbox is the event store).
// issuance/webhook/postgres implements it. Every method that names a
// tenant reads and changes only that tenant's rows; ErrNotFound (package
// issuance) means the tenant has no such object.
type Store interface {
	// CreateEndpoint stores a new endpoint. It fails with a
	// SlugEndpointLimit *issuance.Error when the tenant has MaxEndpoints.
	CreateEndpoint(ctx context.Context, e Endpoint) error
	Endpoint(ctx context.Context, tenantID, id string) (Endpoint, error)
	// Endpoints lists a page of the tenant's endpoints, newest first.
	Endpoints(ctx context.Context, tenantID string, p issuance.PageRequest) ([]Endpoint, bool, error)
	// UpdateEndpoint applies a change and returns the endpoint after it.
	// Disabling fails the endpoint's pending deliveries; enabling clears
	// the reason and failing_since.
	UpdateEndpoint(ctx context.Context, tenantID, id string, ch Change) (Endpoint, error)
	// RotateSecret makes sealed the current secret and the current one
	// the previous, which signs until previousUntil.
	RotateSecret(ctx context.Context, tenantID, id string, sealed []byte, previousUntil, now time.Time) (Endpoint, error)
	// DeleteEndpoint deletes the endpoint and its deliveries (its attempts
	// stay in the events' history).
	DeleteEndpoint(ctx context.Context, tenantID, id string) error

	// Ingest reads up to limit outbox events past the dispatcher's
	// cursor, adds one pending delivery per enabled endpoint of their
	// tenant that subscribes to their type and existed when they
	// happened, and moves the cursor past them, in one transaction, and
	// returns how many events it read. The events stay where they are
	// (the outbox is the event store). Instances ingest disjoint rows.
	Ingest(ctx context.Context, limit int, now time.Time) (int, error)
	// Events lists a page of the tenant's events, newest first.
	Events(ctx context.Context, tenantID string, f EventFilter) ([]kafka.Event, bool, error)
	Event(ctx context.Context, tenantID, id string) (kafka.Event, error)
	// Attempts lists the event's delivery attempts, oldest first.
	Attempts(ctx context.Context, tenantID, eventID string) ([]Attempt, error)
	// Redeliver adds a pending delivery of the event to each endpoint
	// (the tenant's, enabled), unless one is pending already, and
	// returns the endpoints it now has a pending delivery for.
	Redeliver(ctx context.Context, tenantID, eventID string, endpointIDs []string, now time.Time) ([]string, error)
	// Recover adds a pending delivery to the endpoint of every event of
	// its types that happened at or after since (and after the endpoint
	// was created) and has neither a delivered nor a pending delivery to
	// it, and returns how many.
	Recover(ctx context.Context, tenantID, endpointID string, since, now time.Time) (int, error)

	// Claim leases up to limit due deliveries of enabled endpoints until
	// leaseUntil (the dispatcher's attempt timeout and 5 s: a crash
	// returns them when it passes), at most room[id]
	// of an endpoint listed in room and perEndpoint of any other, oldest
	// first, skipping rows other instances hold. Each job's Attempt is
	// the number of the attempt it is about to make.
	Claim(ctx context.Context, now, leaseUntil time.Time, limit, perEndpoint int, room map[string]int) ([]Job, error)
	// Release returns a claimed delivery without an attempt, due at at.
	Release(ctx context.Context, deliveryID int64, at time.Time) error
	// Record stores an attempt's outcome in one transaction: the attempt,
	// the delivery's new state, the endpoint's failing_since, and when
	// the outcome says gone or the endpoint has failed since before
	// failingLimit, its disabling with the event disabled(reason,
	// failingSince) builds. It returns the reason when it disabled the
	// endpoint, else "".
	Record(ctx context.Context, o Outcome, failingLimit time.Time, disabled func(reason string, failingSince *time.Time) (kafka.Event, error)) (string, error)
	// Purge deletes up to limit deliveries (no longer pending) and attempts
	// of events that happened before before, and returns how many (the
	// events are the outbox's, which keeps them for the retention).
	Purge(ctx context.Context, before time.Time, limit int) (int, error)
}

// Change is a change of an endpoint; nil members keep their value.
type Change struct {
	URL         *string
	EventTypes  []string // nil: keep
	Description *string
	Disabled    *bool
	// Reason is the DisabledReason when Disabled is true.
	Reason string
	Now    time.Time
}

// Vault seals and opens endpoint secrets by HSM key reference;
// *softhsm.HSM satisfies it.
type Vault interface {
	SealSecret(ctx context.Context, dekRef, tenant, binding string, secret []byte) ([]byte, error)
	OpenSecret(ctx context.Context, dekRef, tenant, binding string, sealed []byte) (emv.SecretBytes, error)
}

// EventFilter selects a page of events.
type EventFilter struct {
	issuance.PageRequest
	// Type is an event type or a group ("card.*"); "" for all.
	Type string
	// CardID keeps the events whose subject is this card.
	CardID string
	// CreatedAfter and CreatedBefore bound the events' time.
	CreatedAfter, CreatedBefore *time.Time
	// Since is the retention bound: older events are never listed.
	Since time.Time
}

// Attempt is one delivery attempt of an event to an endpoint.
type Attempt struct {
	EventID    string    `json:"event_id"`
	EndpointID string    `json:"endpoint_id"`
	Attempt    int       `json:"attempt" doc:"1 for a delivery's first attempt; a redelivery starts again at 1"`
	At         time.Time `json:"attempted_at"`
	// StatusCode is the endpoint's HTTP status (0: no answer).
	StatusCode int   `json:"status_code" doc:"the endpoint's HTTP status; 0 when it did not answer (refused, timed out)"`
	DurationMS int64 `json:"duration_ms"`
	// Error says why a failed attempt failed (never a secret or the URL).
	Error     string `json:"error,omitempty"`
	Delivered bool   `json:"delivered" doc:"true for a 2xx answer"`
}

// Job is a claimed delivery: what one attempt needs.
type Job struct {
	DeliveryID int64
	Attempt    int
	Endpoint   Endpoint
	Event      kafka.Event
}

// Outcome is what an attempt of a Job came to.
type Outcome struct {
	DeliveryID                    int64
	TenantID, EndpointID, EventID string
	Attempt                       int
	At                            time.Time
	Duration                      time.Duration
	StatusCode                    int
	Error                         string
	Delivered                     bool
	// NextAttemptAt is when to try again; nil when there is no next
	// attempt (delivered, or the schedule is exhausted).
	NextAttemptAt *time.Time
	// Gone: the endpoint answered 410; disable it.
	Gone bool
}
