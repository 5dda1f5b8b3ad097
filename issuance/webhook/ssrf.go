package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// ErrAddressRefused is the error of CheckAddr: an address webhooks must
// not reach outside sandbox mode.
var ErrAddressRefused = errors.New("webhook address refused")

// refused are the special-purpose ranges netip's predicates do not cover
// (RFC 6890 and its updates): "this network", shared address space
// (carrier-grade NAT), IETF protocol assignments, benchmarking, the
// documentation ranges, reserved 240/4 and broadcast, NAT64 and 6to4
// (which can embed any IPv4 address), ORCHID and IPv6 documentation.
var refused = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16",
		"2001::/23", "2001:db8::/32", "100::/64"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// CheckAddr refuses an address a webhook must not reach outside sandbox
// mode (server-side request forgery): loopback, private (RFC 1918, RFC
// 4193), link-local (the cloud metadata service at 169.254.169.254),
// multicast, unspecified and the special-purpose ranges above; an
// IPv4-mapped IPv6 address is judged as its IPv4 address. The error wraps
// ErrAddressRefused.
func CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	bad := !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
	for _, p := range refused {
		bad = bad || p.Contains(a)
	}
	if bad {
		return fmt.Errorf("%s is a loopback, private or reserved address: %w", a, ErrAddressRefused)
	}
	return nil
}

// Resolver looks host names up; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolveTimeout bounds the look-up of a URL's host at registration.
const resolveTimeout = 3 * time.Second

// CheckURL validates an endpoint URL for field (recording what is wrong
// in v) and returns it as given. Outside sandbox mode the scheme must be
// https, the host must not be localhost, an IP literal must pass
// CheckAddr, and a host name that resolves must resolve only to
// addresses that pass it (a name that does not resolve yet is accepted:
// the Sender checks every address again when it dials). In sandbox mode
// http and any address are allowed, for receivers on a laptop.
func CheckURL(ctx context.Context, v *issuance.Validator, field, raw string, sandbox bool, r Resolver) {
	u, err := url.Parse(raw)
	switch {
	case raw == "" || len(raw) > MaxURL:
		v.Add(field, "invalid", "an absolute https URL of at most 2048 characters")
		return
	case err != nil || !u.IsAbs() || u.Hostname() == "" || u.Opaque != "":
		v.Add(field, "invalid", "an absolute https URL with a host")
		return
	case u.Scheme != "https" && !(sandbox && u.Scheme == "http"):
		v.Add(field, "https_required", "must be https (http only in sandbox mode)")
		return
	case u.User != nil:
		v.Add(field, "invalid", "must not carry user info (put a token in the path or query instead)")
		return
	case u.Fragment != "" || strings.Contains(raw, "#"):
		v.Add(field, "invalid", "must not carry a fragment")
		return
	case strings.ContainsAny(raw, " \t\r\n"):
		v.Add(field, "invalid", "must not contain white space")
		return
	}
	if sandbox {
		return
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		v.Add(field, "address_refused", "must not name localhost outside sandbox mode")
		return
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if CheckAddr(a) != nil {
			v.Add(field, "address_refused", "must not be a loopback, private, link-local or reserved address outside sandbox mode")
		}
		return
	}
	if r == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return // not resolvable yet: checked again at dial time
	}
	for _, a := range addrs {
		if CheckAddr(a) != nil {
			v.Add(field, "address_refused", "resolves to a loopback, private, link-local or reserved address")
			return
		}
	}
}
