package kafka

// Topic is the one Kafka topic every cardhost event is published to. Records
// are keyed by the event's subject (see [Event.Key]), so all events of one card
// land in one partition and stay in commit order.
//
// Do not add partitions to a topic that holds events: the key-to-partition
// mapping changes and a card's later events may be read before its earlier
// ones. Create the topic with enough partitions up front.
const Topic = "cardhost.events"

// DefaultPartitions is the partition count cardhost uses when it creates
// [Topic] itself (kafka/outbox at start, kafka/embedded when seeding). It
// bounds how many consumers in one group can share the work.
const DefaultPartitions = 12
