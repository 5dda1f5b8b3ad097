package kafka

// OutboxRecord is one row of the transactional outbox: an event waiting to be
// published, with the row's sequence number. It lives here, in the leaf
// package, so that the PostgreSQL adapter can implement outbox.Source
// (whose Record is an alias of this type) without importing kafka/outbox:
// adapters do not import each other.
type OutboxRecord struct {
	// Seq is the row's sequence number: unique, increasing in insertion
	// order (e.g. an identity column). The relay publishes in Seq order.
	Seq int64
	// Event is the event to publish, as built by NewEvent.
	Event Event
}
