package emv

import (
	"fmt"
	"slices"
	"strings"
)

// Network is a card's payment network as the REST API, the card record and
// the personalisation record name it ("VISA", "MASTERCARD"). Its
// [Network.Scheme] is the one link from a network to the CVN registry:
// callers look a card's cryptogram version up with [Network.CVN] instead of
// converting the name.
type Network string

// Card networks.
const (
	NetworkVisa       Network = "VISA"
	NetworkMastercard Network = "MASTERCARD"
)

// networks is the table of supported networks: each one's scheme in the
// CVN registry, its registered application provider identifier (the first
// 5 bytes of its AIDs, ISO/IEC 7816-5) and the other names it is known by.
var networks = []struct {
	network Network
	scheme  Scheme
	rid     string
	aliases []string
}{
	{NetworkVisa, SchemeVisa, "A000000003", nil},
	{NetworkMastercard, SchemeMastercard, "A000000004", []string{"MC"}},
}

// networkRow finds the row named s (a network, a scheme or an alias, in
// any case, surrounding spaces ignored); -1 when none.
func networkRow(s string) int {
	s = strings.ToUpper(strings.TrimSpace(s))
	for i, row := range networks {
		if s == string(row.network) || s == strings.ToUpper(string(row.scheme)) || slices.Contains(row.aliases, s) {
			return i
		}
	}
	return -1
}

// ParseNetwork accepts VISA, MASTERCARD or MC in any case, with
// surrounding spaces. Anything else gives ErrUnknownCVN.
func ParseNetwork(s string) (Network, error) {
	if i := networkRow(s); i >= 0 {
		return networks[i].network, nil
	}
	return "", fmt.Errorf("%w: network %q", ErrUnknownCVN, s)
}

// ParseScheme accepts "visa", "mastercard" or "mc" in any case.
func ParseScheme(s string) (Scheme, error) {
	if i := networkRow(s); i >= 0 {
		return networks[i].scheme, nil
	}
	return "", fmt.Errorf("%w: scheme %q", ErrUnknownCVN, s)
}

// Valid reports whether n is a supported network.
func (n Network) Valid() bool { return n.Scheme() != "" }

// Scheme returns the network's scheme in the CVN registry ("" for an
// unsupported network).
func (n Network) Scheme() Scheme {
	for _, row := range networks {
		if row.network == n {
			return row.scheme
		}
	}
	return ""
}

// RID returns the network's registered application provider identifier,
// hex ("" for an unsupported network).
func (n Network) RID() string {
	for _, row := range networks {
		if row.network == n {
			return row.rid
		}
	}
	return ""
}

// CVN returns the registry row of the network's cryptogram version number
// (10, 18, 22 for Visa; 16, 17, 20, 21 for Mastercard). An unsupported
// network or number gives ErrUnknownCVN.
func (n Network) CVN(number int) (CVN, error) {
	if !n.Valid() {
		return CVN{}, fmt.Errorf("%w: network %q", ErrUnknownCVN, string(n))
	}
	return LookupCVN(string(n.Scheme()), number)
}
