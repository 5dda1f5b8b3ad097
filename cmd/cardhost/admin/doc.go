// Package admin holds cardhost's operator subcommands that work on the
// database directly, with no server running: `cardhost keys` (key
// ceremonies through the software HSM), `cardhost tenants`, `cardhost
// acquirers`, `cardhost events tail`, and the money commands `cardhost
// funding`, `ledger check`, `clearing import` (through the host's engine)
// and `reports settlement`. Each is a function of the
// arguments, a [Load] that reads the binary's configuration, and the
// output streams, returning the exit code: 0 done, 1 failure (database,
// HSM, Kafka), 2 bad input. Key values are never printed.
//
// Ring: wiring, beside cmd/cardhost (nothing but cmd imports it). It may
// import adapters (issuance/postgres, host/postgres, emv/softhsm, kafka/consume), the
// domain and cmd/cardhost/sandbox; no adapter or domain package may import
// it. It never reads the environment: cmd/cardhost's config.go does.
package admin
