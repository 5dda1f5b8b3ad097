// Package whsig signs and verifies webhooks as the Standard Webhooks
// specification (version 1.0.0, "Signature scheme" and "Webhook headers")
// defines them: a [Secret] is shown as "whsec_" + base64 of its bytes; the
// signed content is id + "." + timestamp + "." + body; a signature is "v1,"
// + base64(HMAC-SHA256(secret, content)); the webhook-signature header
// holds one signature per secret, space-separated, so that a receiver
// rotating its secret accepts either.
//
// It is the one signer of cardhost's requests to an issuer: webhook
// deliveries (issuance/webhook) and any other request signed the same way
// use [Sign] or [SetHeaders]; [Verify] is the receiver's side, used by
// tests and shown in docs/webhooks.md.
//
// whsig is a leaf: it imports the standard library only. A [Secret]
// never prints itself: fmt, slog and encoding/json see "[redacted]".
package whsig
