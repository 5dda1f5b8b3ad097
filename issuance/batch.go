package issuance

import (
	"encoding/json"
	"time"
)

// Batches (QPay's batch issuance): up to MaxBatchItems card requests under
// one request_id, accepted at once and processed by a background job; each
// item becomes an order and fails alone.

// MaxBatchItems is the most card requests one batch may hold.
const MaxBatchItems = 1000

// BatchStatus is a batch's status.
type BatchStatus string

// Batch statuses: processing until every item is settled, then completed
// (with counts of succeeded and failed items).
const (
	BatchProcessing BatchStatus = "processing"
	BatchCompleted  BatchStatus = "completed"
)

// BatchItemStatus is the status of one item.
type BatchItemStatus string

// Batch item statuses.
const (
	BatchItemPending   BatchItemStatus = "pending"
	BatchItemSucceeded BatchItemStatus = "succeeded"
	BatchItemFailed    BatchItemStatus = "failed"
)

// Batch is a batch of card requests.
type Batch struct {
	ID        string
	TenantID  string
	RequestID string
	// RequestHash is the SHA-256 of the card requests, so that a repeated
	// request_id with other content is refused.
	RequestHash []byte
	Status      BatchStatus
	Total       int
	Succeeded   int
	Failed      int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
	Items       []BatchItem // filled by Batch look-ups, not by lists
}

// BatchItem is one card request of a batch and its outcome.
type BatchItem struct {
	Index        int
	Status       BatchItemStatus
	OrderID      string
	CardID       string
	ReferenceID  string
	ErrorSlug    string
	ErrorMessage string
	Errors       []FieldError
}

// BatchWork is an item claimed by the batch processor: its request (the
// JSON of a CardRequest) and its order.
type BatchWork struct {
	TenantID string
	BatchID  string
	Index    int
	OrderID  string
	Request  json.RawMessage
	// Attempts counts the claims of this item, this one included.
	Attempts int
}

// Batch slugs.
const (
	// SlugRequestIDReused: a batch request_id was used before with other
	// card requests.
	SlugRequestIDReused = "request_id_reused"
)
