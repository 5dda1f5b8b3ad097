package rest

import (
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// What another door on the same port (the operator console, package
// issuance/console) borrows from the API, so that both apply one set of
// rules: the failed-authentication limit per client address, the
// tenant's request rate, and the status each error answers with. The
// console declares the interface; the wiring hands it this Server.

// AuthBlocked reports whether the request's client address is over the
// failed-authentication limit, and how long until it is not.
func (s *Server) AuthBlocked(c *fiber.Ctx) (time.Duration, bool) {
	if s.authFailures == nil {
		return 0, false
	}
	return s.authFailures.blocked(s.clientAddr(c))
}

// AuthFailed counts a failed authentication against the request's client
// address.
func (s *Server) AuthFailed(c *fiber.Ctx) {
	if s.authFailures != nil {
		s.authFailures.allow(s.clientAddr(c), 0)
	}
}

// TenantAllowed takes one request from the tenant's rate limit; when none
// is left it reports how long to wait.
func (s *Server) TenantAllowed(t issuance.Tenant) (time.Duration, bool) {
	if s.limiter == nil {
		return 0, true
	}
	return s.limiter.allow(t.ID, t.RateLimit)
}

// StatusOf is the HTTP status the API answers err with (the problem
// table: 404 for issuance.ErrNotFound, 422 validation_failed...).
func (s *Server) StatusOf(err error) int {
	p, _ := s.problemOf(err)
	return p.Status
}

// OverTLS reports whether the request reached this server over TLS, or
// reached a trusted proxy over TLS (X-Forwarded-Proto: https from a peer
// in Config.TrustedProxies).
func (s *Server) OverTLS(c *fiber.Ctx) bool {
	if c.Context().IsTLS() {
		return true
	}
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	return s.trustedProxy(peer.Unmap()) && strings.EqualFold(strings.TrimSpace(c.Get(fiber.HeaderXForwardedProto)), "https")
}
