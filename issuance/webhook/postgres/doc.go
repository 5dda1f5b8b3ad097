// Package postgres is the webhook store: [Store] implements
// webhook.Store over the cardhost database (webhook_endpoints,
// webhook_events, webhook_deliveries, webhook_attempts, and the
// dispatcher's outbox cursor; migrations 0040 and 0070 in
// issuance/postgres).
//
// Every change of state is one transaction: ingesting a batch of outbox
// rows (events, their deliveries and the dispatcher's cursor), claiming due
// deliveries (a lease in next_attempt_at, FOR UPDATE SKIP LOCKED, so
// instances share the work), and recording an attempt (the attempt, the
// delivery, the endpoint's failing_since and, when it is disabled, its
// webhook_endpoint.disabled event in the outbox). A crash therefore loses
// no pending delivery, and an attempt whose outcome was recorded is never
// made again.
//
// Ring: adapter. Like host/postgres it builds on issuance/postgres (the
// database handle, its pool and after-commit hook, the outbox writer and
// the one migration sequence), which never imports it; it imports the
// webhook domain, issuance, kafka and pgx, and no other adapter. Safe for
// concurrent use.
package postgres
