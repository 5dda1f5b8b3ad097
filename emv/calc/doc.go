// Package calc is the cryptographic calculator behind `cardhost crypto`: a
// tool for support engineers over the same emv code the host and the HSM
// run. [Run] dispatches to one of [Commands]; every subcommand parses its
// own flags and returns one result object, printed as one JSON line. Bad
// input is one line on stderr and exit code 2, and the message never
// repeats an input value. Keys are given in clear hex on the command line:
// use test keys, or run it where shell history and process listings are
// private.
//
// The subcommands are grouped by family, one file each: keys (kcv,
// derive-icc-mk, session-key), application cryptograms and the CVN
// registry (arqc, verify-arqc, arpc, cvn), card verification values (cvv),
// PINs (pvv, pin-offset, pinblock), MAC (mac) and TLV (tlv). Help texts
// that list CVNs read them from the emv CVN registry.
//
// Ring: a leaf beside emv. It imports only emv, emv/tlv, emv/pinblock and
// the standard library: never a cardhost adapter, the domain, or a
// third-party module (cmd/cardhost/layout_test.go enforces this).
package calc
