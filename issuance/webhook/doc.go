// Package webhook is the tenant-facing HTTP side of cardhost's events:
// webhook endpoints, at-least-once signed delivery with retries, and the
// Events API (docs/webhooks.md).
//
// [Service] manages a tenant's endpoints (URL, event types, a whsec_
// secret shown once and kept sealed by the HSM, rotation with a 24 h
// overlap) and answers the Events API: the last 30 days of events, each
// one's delivery attempts, redelivery and recovery. The events are the
// rows of the transactional outbox, which is the event store (migration
// 0072): nothing copies them. [Dispatcher] reads the outbox past its
// cursor and creates a delivery per subscribed endpoint of each event
// read, moving the cursor on ([Store.Ingest], one transaction), then
// delivers them: each attempt is signed with package whsig and sent through
// a [Sender], and its outcome (delivered, retried on the [Schedule],
// endpoint disabled on 410 or after 5 days of failures) is recorded in
// one transaction. Deliveries live in PostgreSQL, so a restart loses no
// pending delivery and re-sends nothing that was acknowledged; an attempt
// in flight at a crash is sent again, with the same webhook-id.
//
// The rules for an endpoint's URL are here too ([CheckAddr], [CheckURL]):
// HTTPS, and no loopback, private or link-local address outside sandbox
// mode, checked when the URL is registered and again by the Sender when it
// dials (DNS answers change).
//
// Ring: domain, one room beside package issuance (whose Error, Validator,
// ids and pages it uses). It imports issuance, issuance/whsig, emv and
// kafka (the event catalogue); it must not import adapters: the store is
// issuance/webhook/postgres, the HTTP sender issuance/webhook/sender.
// Rejections are *issuance.Error values. Service and Dispatcher are safe
// for concurrent use.
package webhook
