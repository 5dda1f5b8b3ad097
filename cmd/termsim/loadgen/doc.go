// Package loadgen is the load generator of cardhost's simulator (`termsim
// load`): [RunLoad] drives connections x in-flight requests at a rate or
// flat out, from a [Mix] of transaction kinds with expected codes, with a
// log-linear [Histogram] for latency percentiles; a [BareServer] (the same
// codec and framing as the host, answering 00 without deciding anything)
// is the baseline, and [NewBaseline] compares a host run with a
// bare-server run.
//
// Ring: adapter. It builds on package terminal (cards, terminal, client)
// and may import iso and emv from cardhost, and gopkg.in/yaml.v3 (mix
// files). It must not import host or any other host/... package, issuance,
// or package scenario: it reaches the host only over TCP.
package loadgen
