// Package kafka is cardhost's event catalogue: the CloudEvents 1.0 envelope
// ([Event]), every event type and its payload struct (one literal table in
// catalogue.go), the topic name ([Topic]) and the mapping of an event to a
// Kafka record per the CloudEvents Kafka protocol binding in binary content
// mode ([Event.Message], [ParseMessage]).
//
// Ring: leaf. It imports only the standard library and no other cardhost
// package; it must never import franz-go or any other Kafka client (that is
// the job of kafka/outbox, kafka/embedded and kafka/consume), nor emv, host,
// issuance or any adapter. Domain packages import it to build events inside
// the transaction that changes state:
//
//	ev, err := kafka.NewEvent(kafka.TypeCardFrozen, card.ID, card.TenantID, kafka.CardData{...}, now)
//
// and the PostgreSQL adapter stores the event in the outbox table in that same
// transaction; kafka/outbox publishes it later. [OutboxRecord] is the outbox
// row both of them handle, defined here so that neither adapter imports the
// other.
//
// # Ordering and keys
//
// All events go to one topic, [Topic]. The record key is the event's subject:
// the card id for card, authorization and (when the order has a card) order
// events, the tenant id for tenant and certificate events. Kafka keeps one
// key's records in one partition, so one card's events are read in the order
// they were committed.
//
// # Secrets
//
// Payloads carry no PAN, track data, CVV, PIN, PIN block or key material, not
// even masked: the structs have no field for them (a test walks every payload
// to keep it so). A card is identified by its id and last4.
package kafka
