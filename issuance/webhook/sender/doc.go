// Package sender is the webhook dispatcher's HTTP side: [Sender]
// implements webhook.Sender with net/http, and [Metrics] implements
// webhook.Observer with Prometheus collectors.
//
// A Sender POSTs with a bounded answer read (MaxBody, then the connection
// is dropped), never follows a redirect (a 3xx is a failure), ignores
// proxy environment variables, and checks every address it dials with
// webhook.CheckAddr outside sandbox mode, after DNS resolution: a host
// name that resolved to a public address when the endpoint was registered
// and to a private one now is refused without a connection. Its errors
// name neither the URL (whose path or query may carry an issuer's token)
// nor a secret.
//
// Ring: adapter. It imports the webhook domain and Prometheus; no other
// cardhost package. Safe for concurrent use.
package sender
