// Package console is the operator console: the pages an issuer's team
// opens in a browser at /console on the API's port (docs/console.md).
//
// It is an adapter beside issuance/rest, in the same ring: it renders the
// card domain's services (issuance, issuance/catalog) and the host's
// records with html/template, and moves cards, controls and API keys
// through the very service calls the REST handlers make, so that the
// API's validation, tenant isolation and scopes apply unchanged. It never
// imports another adapter: the wiring (cmd/cardhost) hands it the REST
// server as an [API] (the failed-authentication limit, the tenant's rate
// limit and the status of each error), PostgreSQL as a [SessionStore] and
// the ledger as a [Records] reader.
//
// Sessions are opened with an API key (POST /console/login, form field
// api_key) and stored in PostgreSQL by the hash of their id, so several
// instances behind one load balancer share them; the id travels in an
// HttpOnly, SameSite=Strict cookie (Secure over TLS). Every state-changing
// form carries the session's CSRF token. Pages are plain HTML forms and
// links that work without JavaScript; the vendored htmx (static/vendor,
// with its version and licence) only adds in-place updates and the live
// stream's server-sent events. Card numbers are masked everywhere (first
// six, last four); the full number appears only on the answer to a reveal,
// behind the reveal scope and audited by the domain service.
package console
