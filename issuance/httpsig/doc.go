// Package httpsig verifies RFC 9421 HTTP message signatures of requests,
// with the parts of RFC 8941 structured fields and RFC 9530
// Content-Digest they need, and signs requests the same way for clients.
//
// A [Message] is an HTTP message as the signature base sees it (method,
// scheme, authority, path, query, header fields), so any server adapts its
// own request type to it. [Verify] applies cardhost's policy
// (docs/api.md, "Request signing"): the covered components it requires,
// the created/expires window ([Window]), the body digest and one of the
// [Algorithm]s ECDSA P-256, ECDSA P-384 or Ed25519. Every rejection is an
// [*Error] whose reason is safe to show the client. [Sign] is the client
// side of the same policy.
//
// httpsig is a leaf: it imports the standard library only (no cardhost
// package, no router), so issuance/rest adapts fiber requests to it and
// maps its rejections to problem details.
package httpsig
