// Package isocode holds the reference tables of the card domain: ISO 4217
// currencies (alpha code, numeric code, minor units) and ISO 3166-1
// countries (alpha-2 and numeric codes), each one literal table in
// tables.go, and the look-ups between the API's alpha codes and ISO 8583's
// numeric codes.
//
// It is a leaf below package issuance (and host, through issuance): it
// imports only the standard library and must not import any cardhost
// package. Its functions are safe for concurrent use.
package isocode
