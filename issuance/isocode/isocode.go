package isocode

import "strings"

// Currency is one ISO 4217 currency.
type Currency struct {
	Alpha      string // "USD"
	Numeric    string // "840"
	MinorUnits int    // decimals of the minor unit (2 for USD, 0 for JPY)
}

var (
	currencies        = map[string]Currency{} // by alpha code
	currencyByNumeric = map[string]string{}   // numeric -> alpha
	countries         = map[string]string{}   // alpha-2 -> numeric
	countryByNumeric  = map[string]string{}   // numeric -> alpha-2
)

func init() {
	for _, f := range rows(currencyTable) {
		c := Currency{Alpha: f[0], Numeric: f[1], MinorUnits: int(f[2][0] - '0')}
		currencies[c.Alpha] = c
		currencyByNumeric[c.Numeric] = c.Alpha
	}
	for _, f := range rows(countryTable) {
		countries[f[0]] = f[1]
		countryByNumeric[f[1]] = f[0]
	}
}

// rows splits a table into its lines' fields (the name, last, is not
// needed by the look-ups).
func rows(table string) [][]string {
	var out [][]string
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		out = append(out, strings.Fields(line))
	}
	return out
}

// CurrencyNumeric returns the ISO 4217 numeric code for an alpha code
// (any case).
func CurrencyNumeric(alpha string) (string, bool) {
	c, ok := currencies[strings.ToUpper(alpha)]
	return c.Numeric, ok
}

// CurrencyAlpha returns the ISO 4217 alpha code for a numeric code.
func CurrencyAlpha(numeric string) (string, bool) {
	a, ok := currencyByNumeric[numeric]
	return a, ok
}

// CurrencyMinorUnits returns the number of decimals of a currency (alpha
// code, any case).
func CurrencyMinorUnits(alpha string) (int, bool) {
	c, ok := currencies[strings.ToUpper(alpha)]
	return c.MinorUnits, ok
}

// ValidCurrency reports whether alpha is an ISO 4217 alpha code (upper
// case).
func ValidCurrency(alpha string) bool { _, ok := currencies[alpha]; return ok }

// CountryNumeric returns the ISO 3166-1 numeric code for an alpha-2 code
// (any case, surrounding spaces ignored); a known numeric code is accepted
// and returned as is.
func CountryNumeric(code string) (string, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if n, ok := countries[code]; ok {
		return n, true
	}
	if _, ok := countryByNumeric[code]; ok {
		return code, true
	}
	return "", false
}

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 code (upper
// case).
func ValidCountry(code string) bool { _, ok := countries[code]; return ok }

// CountryAlpha returns the ISO 3166-1 alpha-2 code for a numeric code.
func CountryAlpha(numeric string) (string, bool) {
	a, ok := countryByNumeric[numeric]
	return a, ok
}
