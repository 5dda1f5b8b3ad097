// Package outbox is the transactional-outbox relay: it reads committed events
// from a [Source] (the outbox table, implemented by issuance/postgres), publishes
// them to Kafka with franz-go's idempotent producer and marks them sent once
// the broker has acknowledged them.
//
// Ring: adapter. It imports package kafka (the catalogue) and owns franz-go
// (kgo, kadm); it must not import any other cardhost package (issuance, host,
// issuance/postgres...). The PostgreSQL side depends on this package's
// [Source] interface, not the other way round.
//
// # Guarantees
//
//   - Nothing is lost: a row is marked sent only after Kafka acknowledged its
//     record with acks=all; a crash before MarkSent means the row is
//     published again.
//   - Nothing is reordered per key: rows are published in Seq order; a
//     publish attempt puts the whole batch into the client's buffer before
//     anything is sent, and franz-go fails every later buffered record of a
//     partition when one fails, so a later record of a key never lands
//     before an earlier one that failed. The relay then marks sent only the
//     acknowledged prefix and retries from the first failure (it never skips
//     a row, so a record Kafka refuses for good stops the relay, loudly,
//     until an operator acts).
//   - At least once: retries after a timeout or crash can publish a record
//     twice; consumers drop duplicates by the CloudEvents id.
//
// Per-key order in Kafka equals Seq order; Seq order equals commit order per
// subject only if the writer allocates Seq after locking the subject's row
// (see [Source]).
//
// # Lifecycle
//
// [New] builds the relay (no I/O), [Relay.Run] publishes until its context
// ends, [Relay.Wake] asks for a prompt pass after a commit, [Relay.Flush]
// publishes everything pending (graceful shutdown) and [Relay.Close]
// releases the Kafka client. Run makes sure the topic exists first
// (kadm), retrying while the broker is not up yet.
package outbox
