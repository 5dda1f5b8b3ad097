// Package digit holds the two checks on decimal digit strings that the
// whole module shares: [All] and [N] (ASCII digits only) and the ISO/IEC 7812-1
// Luhn check digit ([LuhnValid], [LuhnDigit]) of card numbers.
//
// Ring: a leaf below everything, standard library only. It lives under
// iso because ISO/IEC 7812 is where the Luhn rule is defined, but it is its
// own package so that both leaves, iso and emv (which must not import each
// other), and everything above them can use one copy; it must not import
// any cardhost package. Its functions are pure and safe for concurrent use.
package digit
