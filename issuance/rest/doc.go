// Package rest is cardhost's REST API: a fiber application ([New],
// [Server]) whose route table also produces the embedded OpenAPI document
// (openapi.json), API-key and RFC 9421 request-signature authentication,
// idempotency keys, per-tenant rate limits, Prometheus metrics, and one
// table mapping issuance.Error slugs to problem+json answers (any other
// error is a 500 whose detail goes only to the log).
//
// Handlers decode a request, call the domain (issuance.Service,
// catalog.Service, ca.Service; host for authorization reads and the
// sandbox simulator) and encode its answer; they hold no business rules.
//
// Ring: adapter. It imports issuance and its rooms (ca, catalog,
// dataprep), host, iso, emv and kafka, and owns fiber and the Prometheus
// client. It must not import another adapter (issuance/postgres,
// emv/softhsm, host/isoserver) or cmd. A built [Server] is safe for
// concurrent use.
package rest
