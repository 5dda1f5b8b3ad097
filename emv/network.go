package emv

import (
	"fmt"
	"slices"
	"strings"
)

// Network is a card's payment network as the REST API, the card record and
// the personalisation record name it ("VISA", "MASTERCARD", "UNIONPAY"). Its
// [Network.Scheme] is the one link from a network to the CVN registry:
// callers look a card's cryptogram version up with [Network.CVN] instead of
// converting the name.
type Network string

// Card networks.
const (
	NetworkVisa       Network = "VISA"
	NetworkMastercard Network = "MASTERCARD"
	NetworkUnionPay   Network = "UNIONPAY"
)

// networks is the table of supported networks: each one's scheme in the
// CVN registry, how docs and messages spell it, its registered
// application provider identifier (the first 5 bytes of its AIDs, ISO/IEC
// 7816-5) and the other names it is known by (UnionPay: UnionPay
// International "UPI", China UnionPay "CUP").
var networks = []struct {
	network Network
	scheme  Scheme
	name    string
	rid     string
	aliases []string
}{
	{NetworkVisa, SchemeVisa, "Visa", "A000000003", nil},
	{NetworkMastercard, SchemeMastercard, "Mastercard", "A000000004", []string{"MC"}},
	{NetworkUnionPay, SchemeUnionPay, "UnionPay", "A000000333", []string{"UPI", "CUP"}},
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

// ParseNetwork accepts VISA, MASTERCARD (or MC) and UNIONPAY (or UPI,
// CUP) in any case, with surrounding spaces. Anything else gives
// ErrUnknownCVN.
func ParseNetwork(s string) (Network, error) {
	if i := networkRow(s); i >= 0 {
		return networks[i].network, nil
	}
	return "", fmt.Errorf("%w: network %q", ErrUnknownCVN, s)
}

// ParseScheme accepts "visa", "mastercard" (or "mc") and "unionpay" (or
// "upi", "cup") in any case.
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

// Name returns how docs and messages spell the network ("Visa",
// "Mastercard", "UnionPay"; "" for an unsupported network).
func (n Network) Name() string { return n.Scheme().Name() }

// Name returns how docs and messages spell the scheme ("Visa",
// "Mastercard", "UnionPay"; "" for an unknown scheme).
func (s Scheme) Name() string {
	for _, row := range networks {
		if row.scheme == s {
			return row.name
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
// (10, 18, 22 for Visa; 16, 17, 20, 21 for Mastercard; 1 for UnionPay). An unsupported
// network or number gives ErrUnknownCVN.
func (n Network) CVN(number int) (CVN, error) {
	if !n.Valid() {
		return CVN{}, fmt.Errorf("%w: network %q", ErrUnknownCVN, string(n))
	}
	return LookupCVN(string(n.Scheme()), number)
}

// Networks returns the supported networks in table order (Visa,
// Mastercard, UnionPay).
func Networks() []Network {
	out := make([]Network, len(networks))
	for i, row := range networks {
		out[i] = row.network
	}
	return out
}

// NetworkList names the supported networks as the API spells them, for
// messages: "VISA, MASTERCARD, UNIONPAY".
func NetworkList() string {
	var b strings.Builder
	for i, row := range networks {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(row.network))
	}
	return b.String()
}

// InRange reports whether an IIN or PAN (digits) starts in one of the
// network's issuer identification number ranges, as the networks publish
// them: Visa 4; Mastercard 51-55 and 2221-2720; UnionPay 62 (China
// UnionPay's ISO/IEC 7812 major industry range, which holds the
// 622126-622925, 624-626 and 6282-6288 sub-ranges acquirers route to
// UnionPay). Fewer than 4 digits, or non-digits, are in no range.
func (n Network) InRange(digits string) bool {
	if len(digits) < 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	p2 := int(digits[0]-'0')*10 + int(digits[1]-'0')
	p4 := p2*100 + int(digits[2]-'0')*10 + int(digits[3]-'0')
	switch n {
	case NetworkVisa:
		return digits[0] == '4'
	case NetworkMastercard:
		return (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)
	case NetworkUnionPay:
		return p2 == 62
	}
	return false
}

// NetworkOf returns the network whose IIN ranges hold the PAN (see
// InRange); ok is false when none does.
func NetworkOf(pan string) (n Network, ok bool) {
	for _, row := range networks {
		if row.network.InRange(pan) {
			return row.network, true
		}
	}
	return "", false
}
