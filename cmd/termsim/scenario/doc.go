// Package scenario reads and replays cardhost's scenario files (`termsim
// replay`, testdata/scenarios): [ParseScenario] reads them strictly
// (errors name file and line), and a [Runner] sets them up through the
// REST API ([API], [Issuer]) and replays them over ISO 8583 with package
// terminal, checking codes, reasons, approval codes, ARPCs, amounts and
// Kafka events ([WatchEvents], reading through kafka/consume) into a
// [ScenarioResult].
//
// Its reason table ([Reasons]) is a copy of the host's, kept equal by a
// test; the event types are package kafka's.
//
// Ring: adapter. It builds on package terminal and may import iso, emv,
// kafka and kafka/consume from cardhost, and gopkg.in/yaml.v3 (scenario
// files). It must not import host or any other host/... package, issuance
// or package loadgen: it knows the host only through its published
// interfaces (ISO 8583, REST, events).
package scenario
