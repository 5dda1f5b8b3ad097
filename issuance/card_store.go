package issuance

import (
	"context"
	"errors"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// CardStore persists cards, their orders, batches, embossing jobs and the
// audit trail, writing each change's events to the outbox in the same
// transaction, after the statement that changes the card row (so that one
// card's events are ordered as its changes commit). Every method is scoped
// to a tenant where it takes one: another tenant's id answers ErrNotFound.
// Card updates bump the row's version and never touch the columns the
// authorization host owns (spend, total_spent, last_atc, used_at; only a
// PIN set resets pin_tries). Implementations must be safe for concurrent
// use, and safe when several cardhost instances share the database.
type CardStore interface {
	// CreateCard stores a new card, its order and (for plastics) its
	// embossing job, and writes the events, in one transaction. When the
	// order belongs to a batch, the order (and the batch item) already
	// exist: they are locked and settled with the card, and
	// ErrOrderSettled is returned (nothing written) if another worker
	// settled them first. Errors: ErrPANTaken (draw another PAN),
	// ErrReferenceIDTaken.
	CreateCard(ctx context.Context, n NewCard) error
	// Card returns a card; ErrNotFound when the tenant has no such card.
	Card(ctx context.Context, tenantID, id string) (Card, error)
	// Cards lists a tenant's cards, newest first, and reports whether more
	// follow.
	Cards(ctx context.Context, tenantID string, f CardFilter) ([]Card, bool, error)
	// UpdateCard reads the card (and its latest order) under a row lock,
	// lets fn decide a change, and applies it in the same transaction. An
	// error from fn is returned as is and nothing is written; a change with
	// Skip set writes nothing. ErrNotFound when the tenant has no such card.
	UpdateCard(ctx context.Context, tenantID, id string, fn func(*CardChange) error) (Card, error)
	// SandboxPIN returns the sealed PIN set through the sandbox simulator
	// (nil when none).
	SandboxPIN(ctx context.Context, tenantID, cardID string) ([]byte, error)

	// NextEmbossing takes the oldest embossing job due at now that no other
	// worker holds (FOR UPDATE SKIP LOCKED), locks its card and lets fn
	// decide, as UpdateCard does; the job is deleted (Dequeue) or
	// rescheduled (Retry). It reports false when no job is due.
	NextEmbossing(ctx context.Context, now time.Time, fn func(EmbossJob, *CardChange) error) (bool, error)

	// SweepExpiry locks up to limit cards in PROVISIONED, ACTIVE or FROZEN
	// whose expiry_at or printed expiry (end of the YYMM month) is at or
	// before now, skipping rows other instances hold, and applies fn's
	// change to each, in one transaction. It returns how many changed.
	SweepExpiry(ctx context.Context, now time.Time, limit int, fn func(*CardChange) error) (int, error)

	// Order returns an order; ErrNotFound when missing.
	Order(ctx context.Context, tenantID, id string) (Order, error)
	// Orders lists a tenant's orders, newest first.
	Orders(ctx context.Context, tenantID string, f OrderFilter) ([]Order, bool, error)
	// FailOrder settles a batch item's order as failed (with the item and
	// the batch counters) and writes the events; ErrOrderSettled when it
	// was settled already.
	FailOrder(ctx context.Context, o Order, item BatchItem, events []kafka.Event) error

	// CreateBatch stores a batch with one pending item (and one new order)
	// per card request. When the tenant already has a batch with the
	// request_id, it stores nothing and returns that batch and true.
	CreateBatch(ctx context.Context, b Batch, requests [][]byte, orders []Order) (Batch, bool, error)
	// Batch returns a batch with its items; ErrNotFound when missing.
	Batch(ctx context.Context, tenantID, id string) (Batch, error)
	// Batches lists a tenant's batches (without items), newest first.
	Batches(ctx context.Context, tenantID string, p PageRequest) ([]Batch, bool, error)
	// ClaimBatchItems leases up to limit pending items (of any tenant)
	// whose lease expired, for leaseFor, skipping items other workers hold.
	ClaimBatchItems(ctx context.Context, now time.Time, leaseFor time.Duration, limit int) ([]BatchWork, error)

	// RecordAudit appends an entry to the audit trail.
	RecordAudit(ctx context.Context, e AuditEntry) error
	// AuditTrail lists a card's audit entries, oldest first.
	AuditTrail(ctx context.Context, tenantID, cardID string) ([]AuditEntry, error)
}

// Errors card stores return.
var (
	// ErrPANTaken: a card with this PAN (index) exists; data prep draws again.
	ErrPANTaken = errors.New("PAN already issued")
	// ErrReferenceIDTaken: the tenant has a card with this reference_id.
	ErrReferenceIDTaken = errors.New("reference_id already used")
	// ErrOrderSettled: the order was completed or failed already.
	ErrOrderSettled = errors.New("order already settled")
)

// NewCard is everything CreateCard writes.
type NewCard struct {
	Card  Card
	Order Order
	// Emboss is the card's embossing job (plastics), nil for none.
	Emboss *EmbossJob
	// BatchItem, for a batch order, is the item the card settles.
	BatchItem *BatchItem
	Events    []kafka.Event
	Fee       int64 // the issue fee, debited from the program balance with the card (insufficient_funds)
}

// CardChange is a change to one card, decided by a callback while the card
// row is locked. The callback edits Card (and Order) in place.
type CardChange struct {
	// Card is the card as read under the lock; its issuer-owned fields are
	// written back (the host's authorization state never is).
	Card Card
	// Order is the card's latest order (nil when it has none); written
	// back when OrderChanged is set.
	Order        *Order
	OrderChanged bool
	// ResetPINTries sets pin_tries to 0 (a new PIN); ResetCVV2Tries sets
	// cvv2_tries to 0 (issuance/cvv2).
	ResetPINTries, ResetCVV2Tries bool
	// SandboxPIN, when not nil, replaces the sealed sandbox PIN; an empty
	// slice deletes it.
	SandboxPIN []byte
	// Dequeue deletes the card's embossing job.
	Dequeue bool
	// Retry reschedules the embossing job (NextEmbossing only).
	Retry *EmbossRetry
	// Audit, when set, is appended to the audit trail.
	Audit  *AuditEntry
	Events []kafka.Event
	// Skip writes nothing: the callback found nothing to change.
	Skip bool
}

// EmbossJob is a card waiting for (or being sent to) its embosser.
type EmbossJob struct {
	CardID     string
	TenantID   string
	EmbosserID string
	// BatchRef groups embossing files: the batch id, or the creation date
	// (YYYYMMDD) for single cards.
	BatchRef      string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
}

// EmbossRetry reschedules a failed embossing attempt.
type EmbossRetry struct {
	At        time.Time
	LastError string // no card data
}

// CardFilter selects cards in a list.
type CardFilter struct {
	PageRequest
	Status        Status
	ProductID     string
	CardholderID  string
	ReferenceID   string
	Last4         string
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
}

// AuditEntry records an access to card data: who (API key), when, which
// card and request — never the values shown.
type AuditEntry struct {
	ID       string
	TenantID string
	CardID   string
	Action   string
	APIKeyID string
	// KeyTenantID is the API key's tenant when it is not the card's (a
	// parent acting for its sub-account); "" otherwise.
	KeyTenantID string
	RequestID   string
	At          time.Time
}

// Audited actions.
const (
	AuditReveal      = "card.reveal"          // PAN, CVV2 and expiry shown
	AuditPersoExport = "card.perso_export"    // sandbox personalisation record exported
	AuditSandboxPIN  = "card.sandbox_pin_set" // sandbox PIN set from a clear test PIN
)
