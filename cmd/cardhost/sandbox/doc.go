// Package sandbox is what cardhost's sandbox mode adds to the wiring
// (docs/sandbox.md): the seeding and the REST-to-ISO simulator.
//
// [Seeder] seeds on the first start in sandbox mode, once the master key
// exists: the platform key roles get keys, the sandbox tenant is created,
// every sandbox tenant gets its own keys and a ready catalog, and two test
// acquirers are registered (one requires MACs). Everything runs under a cluster-wide lock and is
// recorded, so a restart (or a second instance) seeds nothing twice. The
// key references and check values are printed once, when created; keys
// made from published components ([TransportKEK], [AcquirerZPK],
// [MACAcquirerZAK]) are for
// the sandbox only.
//
// [Simulator] implements the REST API's simulator endpoints as an acquirer
// on the host's own ISO 8583 port, through host/termsim's client, so that a
// simulated authorization takes exactly the path of a real one.
//
// Ring: wiring, beside cmd/cardhost (nothing but cmd imports it). It may
// import adapters (issuance/postgres, issuance/rest, emv/softhsm,
// host/termsim) and the domain; no adapter or domain package may import it.
package sandbox
