// Package emboss runs embossing: a [Worker] that takes plastics waiting
// in the embossing queue (through the card domain's Service.EmbossNext,
// which seals each card's personalisation record under its embosser's
// transport key) and embosser adapters that deliver the sealed records.
//
// The built-in [Loopback] embosser writes one file per card,
// <data dir>/embossing/<tenant id>/<batch id or YYYYMMDD>/<card id>.perso,
// holding the sealed record (docs/perso.md): no PAN or other card data in
// clear, in the file or in its name. With several cardhost instances each
// job is taken by one worker (the queue is read with FOR UPDATE SKIP
// LOCKED), and a job retried after a crash rewrites the same file.
//
// Ring: adapter. Package emboss imports issuance (and the standard
// library); it must not import other adapters (postgres, rest, softhsm).
package emboss
