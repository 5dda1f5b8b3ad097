// Package rest is cardhost's REST API: a fiber app over [issuance.Service]
// (with its rooms catalog.Service and ca.Service)
// and, when wired, the authorization host's records ([AuthorizationReader])
// and its ISO 8583 simulator ([Simulator]).
//
// Where things are:
//
//   - routes.go is the route table: every route's method, path, handler and
//     OpenAPI operation, in the order fiber matches them. It is the only
//     place routes are registered. Adding a resource means adding its lines
//     there and its request/response types and handlers in its own file
//     (card.go, catalog.go, batch.go...).
//   - resource.go holds the generic create, list and get handlers the
//     catalog, certificates, batches, orders and cards share.
//   - openapi.go derives /openapi.json from the same table and the Go types
//     the handlers decode and encode, so the document cannot drift.
//   - problem.go maps [issuance.Error] slugs to RFC 9457 problem details
//     through one table; any other error is a 500 whose detail goes only to
//     the log.
//   - middleware.go: request ids, recovery, metrics, logs, API-key
//     authentication (and RFC 9421 signatures through package
//     issuance/httpsig, adapted in signature.go), rate limits and
//     Idempotency-Key replay.
//
// Ring: adapter. It may import issuance, issuance/ca, issuance/catalog,
// issuance/dataprep, issuance/httpsig, host, the emv and iso leaves and kafka, and owns fiber
// and the Prometheus HTTP metrics. It must not import another adapter
// (issuance/postgres, emv/softhsm, kafka/outbox...): those are wired in by
// cmd/cardhost through [Deps]. A [Server] is safe for concurrent use once
// built by [New].
package rest
