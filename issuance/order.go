package issuance

import "time"

// Orders (PintoPay's card orders): every card create — single, batch item
// or import — is an order that ends completed or failed, so an issuer can
// follow asynchronous issuance (batches, embossing) in one place.

// OrderType says what an order does.
type OrderType string

// Order types.
const (
	OrderCardIssue  OrderType = "card_issue"
	OrderCardImport OrderType = "card_import"
	// OrderCardReissue: the new card of a reissue (issuance/reissue).
	OrderCardReissue OrderType = "card_reissue"
)

// OrderStatus is an order's overall status.
type OrderStatus string

// Order statuses. new: accepted, not yet worked on (batch items);
// processing: the card exists and waits for embossing; completed and
// failed are final.
const (
	OrderNew        OrderStatus = "new"
	OrderProcessing OrderStatus = "processing"
	OrderCompleted  OrderStatus = "completed"
	OrderFailed     OrderStatus = "failed"
)

// Final reports whether no change leaves s.
func (s OrderStatus) Final() bool { return s == OrderCompleted || s == OrderFailed }

// IssueStatus is the sub-status of an order's issuing step.
type IssueStatus string

// Issue statuses.
const (
	IssueDataPrep        IssueStatus = "data_prep"        // waiting for data prep (batch item not yet processed)
	IssueEmbossing       IssueStatus = "embossing"        // card created, waiting for the embosser
	IssueActivating      IssueStatus = "activating"       // plastic made, waiting for the issuer's activation
	IssueIssued          IssueStatus = "issued"           // card active
	IssueImported        IssueStatus = "imported"         // card imported (no embossing)
	IssueDataPrepFailed  IssueStatus = "data_prep_failed" // the card could not be created
	IssueEmbossingFailed IssueStatus = "embossing_failed" // the embosser failed the card
)

// Order is one card order.
type Order struct {
	ID          string
	TenantID    string
	Type        OrderType
	Status      OrderStatus
	IssueStatus IssueStatus
	CardID      string
	BatchID     string
	// BatchIndex is the item's position in its batch (0-based; batch orders only).
	BatchIndex    int
	ReferenceID   string
	LastError     string // human readable, never card data
	LastErrorSlug string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	CompletedAt   *time.Time
	FailedAt      *time.Time
}

// complete marks the order completed at now.
func (o *Order) complete(issue IssueStatus, now time.Time) {
	o.Status, o.IssueStatus, o.UpdatedAt = OrderCompleted, issue, now
	o.CompletedAt = &now
	o.LastError, o.LastErrorSlug = "", ""
}

// fail marks the order failed at now with a slug and message.
func (o *Order) fail(issue IssueStatus, slug, msg string, now time.Time) {
	o.Status, o.IssueStatus, o.UpdatedAt = OrderFailed, issue, now
	o.FailedAt = &now
	o.LastError, o.LastErrorSlug = msg, slug
}

// OrderFilter selects orders in a list.
type OrderFilter struct {
	PageRequest
	Status  OrderStatus
	CardID  string
	BatchID string
}

// Order slugs.
const (
	// SlugEmbossingFailed: the embosser could not personalise the card.
	SlugEmbossingFailed = "embossing_failed"
	// SlugInternal is the slug of a batch item that failed for a reason
	// other than its content (the detail went to the log).
	SlugInternal = "internal_error"
)
