// Package consume reads cardhost events back from Kafka: a [Reader] that
// decodes the CloudEvents records into kafka.Event values, [Tail] that writes
// them as JSON lines (the CloudEvents structured format), [Collect] for
// tests, [Filter]s by type or subject, and [Dedup] to drop the duplicates
// that at-least-once delivery allows.
//
// It is a helper for tests, tools and downstream Go services, not a
// consumer-group framework: a Reader reads every partition of the topic
// itself and commits nothing. Services that need consumer groups use franz-go
// directly (kgo.ConsumerGroup) and decode records with the same mapping
// ([kafka.ParseMessage]).
//
// Ring: adapter. It imports package kafka and owns franz-go's consumer side;
// it must not import any other cardhost package.
package consume
