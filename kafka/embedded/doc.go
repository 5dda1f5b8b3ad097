// Package embedded runs an in-process Kafka broker (franz-go's kfake) on a
// fixed loopback address, for laptops and tests: cardhost starts it when no
// KAFKA_BROKERS is configured, and ordinary Kafka clients (kcat,
// kafka-console-consumer, any franz-go or Java client) can consume the
// events topic from it.
//
// The broker advertises exactly the address it listens on (127.0.0.1:9092
// by default), so a client that bootstraps from it is told to connect back to
// the same address. It is a development broker: one node, no replication,
// events kept in memory (or in Config.DataDir) and lost on restart without
// one. Point cardhost at a real cluster for anything else.
//
// Ring: adapter. It imports package kafka (for the topic name) and owns
// kfake; it must not import any other cardhost package.
package embedded
