package issuance

import "strings"

// Money amounts are int64 minor units with an ISO 4217 currency; the API
// names currencies by alpha code ("USD"), ISO 8583 by numeric code ("840").

type currency struct {
	numeric    string
	minorUnits int
}

// CurrencyNumeric returns the ISO 4217 numeric code for an alpha code.
func CurrencyNumeric(alpha string) (string, bool) {
	c, ok := currencies[strings.ToUpper(alpha)]
	return c.numeric, ok
}

// CurrencyAlpha returns the ISO 4217 alpha code for a numeric code.
func CurrencyAlpha(numeric string) (string, bool) {
	for a, c := range currencies {
		if c.numeric == numeric {
			return a, true
		}
	}
	return "", false
}

// CurrencyMinorUnits returns the number of decimals of a currency.
func CurrencyMinorUnits(alpha string) (int, bool) {
	c, ok := currencies[strings.ToUpper(alpha)]
	return c.minorUnits, ok
}

// ValidCurrency reports whether alpha is an ISO 4217 currency code.
func ValidCurrency(alpha string) bool { _, ok := currencies[alpha]; return ok }

// CountryNumeric returns the ISO 3166-1 numeric code for an alpha-2 code
// (a numeric code is accepted and returned as is).
func CountryNumeric(code string) (string, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if n, ok := countries[code]; ok {
		return n, true
	}
	if len(code) == 3 {
		for _, n := range countries {
			if n == code {
				return n, true
			}
		}
	}
	return "", false
}

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 code.
func ValidCountry(code string) bool { _, ok := countries[code]; return ok }

// CountryAlpha returns the ISO 3166-1 alpha-2 code for a numeric code.
func CountryAlpha(numeric string) (string, bool) {
	for a, n := range countries {
		if n == numeric {
			return a, true
		}
	}
	return "", false
}
