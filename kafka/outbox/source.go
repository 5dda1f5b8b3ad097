package outbox

import (
	"context"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// Record is one outbox row: an event waiting to be published, with its
// sequence number. It is an alias of kafka.OutboxRecord, so a Source can be
// implemented without importing this package.
type Record = kafka.OutboxRecord

// Source is the outbox table as the relay sees it. issuance/postgres
// implements it (returning []kafka.OutboxRecord, which is []Record); the rows
// are written by the same transactions that make the changes they describe.
//
// Contract:
//
//   - Pending returns up to limit unsent rows in ascending Seq order (the
//     lowest first), or none. It must return a row again until MarkSent has
//     recorded it, and must not skip an unsent row that is visible (a
//     plain "sent up to Seq N" watermark would lose rows whose
//     transactions commit out of Seq order: issuance/postgres keeps, with
//     its watermark, the transactions in progress at its last read, whose
//     rows it takes when they become visible; migration 0070). A row
//     committed after a row of a higher Seq may come in a later call than
//     it; per-key order holds (below).
//   - Only one relay in a cluster may publish at a time, or two relays
//     could interleave one card's events. The Source enforces that: e.g.
//     Pending takes or renews a PostgreSQL advisory-lock lease, and
//     returns no rows (and no error) while another instance holds it.
//   - MarkSent records that the rows with these Seqs were acknowledged by
//     Kafka (a cursor, a per-row flag or a delete). It is called only after the
//     acknowledgement, with Seqs in ascending order; marking a row already
//     marked is not an error.
//   - Lag reports how many rows are unsent and the commit time of the
//     oldest (zero time when none), for the lag metrics.
//   - Per-key order: Kafka order per key is Seq order, so the writer must
//     allocate a row's Seq after it has locked the subject's row (insert
//     the outbox row after the UPDATE of the card), so that for one card
//     Seq order equals commit order.
//
// Errors are retried by the relay with backoff; they must not contain card
// data. A Source must be safe for concurrent use (Lag runs beside Pending).
type Source interface {
	Pending(ctx context.Context, limit int) ([]Record, error)
	MarkSent(ctx context.Context, seqs []int64) error
	Lag(ctx context.Context) (count int64, oldest time.Time, err error)
}

// History is the outbox's record of events already published: the rows
// Kafka acknowledged that the outbox still keeps (CARDHOST_OUTBOX_RETENTION).
// issuance/postgres implements it. Published returns up to limit of them
// with Seq above afterSeq and Event.Time not before since, in ascending Seq
// order (none when there are no more).
type History interface {
	Published(ctx context.Context, afterSeq int64, since time.Time, limit int) ([]Record, error)
}
