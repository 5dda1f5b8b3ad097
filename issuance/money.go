package issuance

import "github.com/cardhost/cardhost/issuance/isocode"

// Money amounts are int64 minor units with an ISO 4217 currency; the API
// names currencies by alpha code ("USD"), ISO 8583 by numeric code ("840").
// The tables live in package isocode; these are its look-ups under the
// names the domain's callers use.

// CurrencyNumeric returns the ISO 4217 numeric code for an alpha code.
func CurrencyNumeric(alpha string) (string, bool) { return isocode.CurrencyNumeric(alpha) }

// CurrencyAlpha returns the ISO 4217 alpha code for a numeric code.
func CurrencyAlpha(numeric string) (string, bool) { return isocode.CurrencyAlpha(numeric) }

// CurrencyMinorUnits returns the number of decimals of a currency.
func CurrencyMinorUnits(alpha string) (int, bool) { return isocode.CurrencyMinorUnits(alpha) }

// ValidCurrency reports whether alpha is an ISO 4217 currency code.
func ValidCurrency(alpha string) bool { return isocode.ValidCurrency(alpha) }

// CountryNumeric returns the ISO 3166-1 numeric code for an alpha-2 code
// (a numeric code is accepted and returned as is).
func CountryNumeric(code string) (string, bool) { return isocode.CountryNumeric(code) }

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 code.
func ValidCountry(code string) bool { return isocode.ValidCountry(code) }

// CountryAlpha returns the ISO 3166-1 alpha-2 code for a numeric code.
func CountryAlpha(numeric string) (string, bool) { return isocode.CountryAlpha(numeric) }
