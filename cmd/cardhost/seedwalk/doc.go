// Package seedwalk runs the seed platforms' guides against cardhost, request
// by request: a walk file (testdata/seeds/<seed>.yaml) holds one guide's
// requests in the guide's order, with the guide's paths, headers, bodies
// and expected outcomes; the path mapping table (testdata/seeds/paths.yaml)
// says which cardhost route serves each guide path; [Runner] sends each
// request to a running cardhost over HTTP and checks the answer.
//
// The walk file format and the mapping table are documented in
// docs/seeds/README.md. [ParseWalk] and [ParseMapping] are strict: an
// unknown key, a key given twice, a value of the wrong kind, a variable
// used before a step captures it or a guide path with no mapping is an
// error naming the file, line and column.
//
// It sits with the cardhost command (cmd/cardhost uses it in its
// end-to-end test) and imports from cardhost only issuance/httpsig (to sign
// requests as a tenant that requires signatures) and the leaves emv and
// emv/pinblock (to agree the PIN-set key and build PIN blocks as an
// issuer does); it never imports the server's
// packages: it knows cardhost only over HTTP, as an integrator does.
package seedwalk
