// Package reference is the API reference page that issuance/rest serves
// at /docs: Redoc, a vendored and versioned OpenAPI renderer embedded with
// go:embed (no CDN, no Node at run time), reading the OpenAPI document
// from the same origin, and the server-rendered reference (html/template,
// no script) as the fallback without JavaScript.
//
// Ring: adapter helper below issuance/rest. It imports only the standard
// library, and no cardhost package: it works on the OpenAPI document as
// issuance/rest builds it (maps of any), never on the API's types.
package reference
