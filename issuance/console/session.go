package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

const (
	// sessionCookie holds the session id; only its SHA-256 is stored.
	sessionCookie = "cardhost_console"
	// loginCookie holds the sign-in form's CSRF token (double submit:
	// the form must send the cookie's value), before any session exists.
	loginCookie = "cardhost_console_login"
	// csrfField is the hidden form field of every state-changing form.
	csrfField = "csrf_token"

	localSession = "console_session"
)

// session is the signed-in operator of a request.
type session struct {
	Tenant issuance.Tenant
	Key    issuance.APIKey
	CSRF   string
}

// actor is who acts for the domain's audit and scope checks: the session's
// API key, exactly as an API request with that key.
func (co *Console) actor(c *fiber.Ctx, s *session) issuance.Actor {
	return issuance.Actor{APIKeyID: s.Key.ID, RequestID: requestID(c), Scopes: s.Key.Scopes, Sandbox: co.cfg.Sandbox || s.Tenant.Sandbox}
}

// canReveal mirrors the domain's rule, to offer the reveal button only to
// sessions that may use it (the domain still decides).
func (co *Console) canReveal(s *session) bool {
	return co.cfg.Sandbox || s.Tenant.Sandbox || s.Key.HasScope(issuance.ScopeReveal)
}

func sessionOf(c *fiber.Ctx) *session {
	s, _ := c.Locals(localSession).(*session)
	return s
}

// requestID is the request's id, set by the API's middleware on the
// response (X-Request-Id), so that audit entries name it.
func requestID(c *fiber.Ctx) string {
	return string(c.Response().Header.Peek("X-Request-Id"))
}

// randomToken is 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// sameToken compares tokens in constant time; an empty token never matches.
func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// setCookie sets an HttpOnly, SameSite=Strict cookie scoped to the
// console; Secure when the request came over TLS. maxAge 0 makes a
// browser-session cookie, negative deletes it.
func (co *Console) setCookie(c *fiber.Ctx, name, value string, maxAge int) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: Prefix, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Secure: co.cfg.SecureCookie || co.deps.API.OverTLS(c), MaxAge: maxAge}
	if maxAge < 0 {
		ck.Expires = time.Unix(0, 0)
	}
	c.Cookie(ck)
}

// session is the middleware of every page but sign-in: it loads the live
// session (or sends the browser to sign in), ends the session of a tenant
// that registered a request-signing key since sign-in (such a tenant
// cannot use the console: see login), applies the tenant's rate limit,
// and refuses a state-changing request without the session's CSRF
// token.
func (co *Console) session(c *fiber.Ctx) error {
	id := c.Cookies(sessionCookie)
	if id == "" {
		return co.toLogin(c, "")
	}
	now := co.deps.Now()
	t, k, csrf, err := co.deps.Sessions.ConsoleSession(c.UserContext(), hashID(id), now, now.Add(-co.cfg.IdleTimeout), now.Add(-co.cfg.MaxAge))
	if errors.Is(err, issuance.ErrNotFound) {
		co.setCookie(c, sessionCookie, "", -1)
		return co.toLogin(c, "expired")
	}
	if err != nil {
		return co.fail(c, err)
	}
	if t.SigningKeyPEM != "" {
		// The tenant registered a request-signing key after this session
		// opened: from now on the API wants a signature with every
		// request, which the console cannot make, so the session ends as
		// sign-in would have refused it.
		if err := co.deps.Sessions.DeleteConsoleSession(c.UserContext(), hashID(id)); err != nil {
			return co.fail(c, err)
		}
		co.log.Info("console session ended: the tenant now signs its requests", "request_id", requestID(c), "tenant_id", t.ID, "api_key_id", k.ID)
		co.setCookie(c, sessionCookie, "", -1)
		return co.toLogin(c, "signing")
	}
	s := &session{Tenant: t, Key: k, CSRF: csrf}
	c.Locals(localSession, s)
	if wait, ok := co.deps.API.TenantAllowed(t); !ok {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds()+0.999)))
		return co.problem(c, fiber.StatusTooManyRequests, "Too many requests", "This tenant is over its request rate limit; retry in a moment.")
	}
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		if !sameToken(c.FormValue(csrfField), s.CSRF) || !sameOrigin(c) {
			co.log.Warn("console form refused: missing or wrong CSRF token", "request_id", requestID(c), "tenant_id", t.ID, "route", c.Path())
			return co.problem(c, fiber.StatusForbidden, "Form refused", "This form was not sent from a page of this console session (missing or wrong CSRF token). Reload the page and try again.")
		}
	}
	return c.Next()
}

// sameOrigin refuses a request whose Origin header (sent by browsers with
// every POST) names another site; a request without one passes (the CSRF
// token is the check).
func sameOrigin(c *fiber.Ctx) bool {
	o := c.Get(fiber.HeaderOrigin)
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, string(c.Request().Host()))
}

// toLogin sends the browser to the sign-in page (htmx requests get
// HX-Redirect, the live stream a 401), noting why.
func (co *Console) toLogin(c *fiber.Ctx, why string) error {
	target := Prefix + "/login"
	if why != "" {
		target += "?why=" + why
	}
	if strings.HasSuffix(c.Path(), "/stream/events") {
		return c.SendStatus(fiber.StatusUnauthorized)
	}
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Redirect", target)
		return c.SendStatus(fiber.StatusUnauthorized)
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}

// loginPage shows the sign-in form with a fresh CSRF token for it.
func (co *Console) loginPage(c *fiber.Ctx) error {
	msg := ""
	switch c.Query("why") {
	case "expired":
		msg = "Your session has ended (it expired, was signed out, or its API key was revoked). Sign in again."
	case "signed_out":
		msg = "You are signed out."
	case "signing":
		msg = "Your session has ended: this tenant now requires signed API requests (RFC 9421), which the console cannot make. Use the API."
	}
	return co.renderLogin(c, fiber.StatusOK, msg, "")
}

func (co *Console) renderLogin(c *fiber.Ctx, status int, notice, errMsg string) error {
	token := randomToken()
	co.setCookie(c, loginCookie, token, 3600)
	return co.render(c, status, "login", map[string]any{"CSRF": token, "Notice": notice, "Error": errMsg})
}

// login opens a session for a valid API key. A wrong key answers the form
// again and counts toward the failed-authentication limit, as in the API.
func (co *Console) login(c *fiber.Ctx) error {
	if !sameToken(c.FormValue(csrfField), c.Cookies(loginCookie)) || !sameOrigin(c) {
		return co.problem(c, fiber.StatusForbidden, "Form refused", "The sign-in form was not sent from this console's sign-in page (missing or wrong CSRF token). Reload the page and try again.")
	}
	if wait, blocked := co.deps.API.AuthBlocked(c); blocked {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds()+0.999)))
		return co.renderLogin(c, fiber.StatusTooManyRequests, "", "Too many failed sign-ins from this address. Wait a few seconds and try again.")
	}
	secret := strings.TrimSpace(c.FormValue("api_key"))
	var t issuance.Tenant
	var k issuance.APIKey
	err := issuance.ErrNotFound
	if issuance.LooksLikeAPIKey(secret) {
		t, k, err = co.deps.Sessions.Authenticate(c.UserContext(), issuance.HashAPIKey(secret))
	}
	if errors.Is(err, issuance.ErrNotFound) {
		co.deps.API.AuthFailed(c)
		return co.renderLogin(c, fiber.StatusUnauthorized, "", "Unknown or revoked API key.")
	}
	if err != nil {
		return co.fail(c, err)
	}
	if t.SigningKeyPEM != "" {
		// The API refuses this tenant's requests without an RFC 9421
		// signature, which a browser cannot make: the console must not
		// be the door that lets the key alone in.
		return co.renderLogin(c, fiber.StatusForbidden, "", "This tenant requires signed API requests (RFC 9421), which the console cannot make: use the API.")
	}
	id, csrf, now := randomToken(), randomToken(), co.deps.Now()
	if err := co.deps.Sessions.CreateConsoleSession(c.UserContext(), hashID(id), t.ID, k.ID, csrf, now, now.Add(-co.cfg.IdleTimeout)); err != nil {
		return co.fail(c, err)
	}
	co.log.Info("console sign-in", "request_id", requestID(c), "tenant_id", t.ID, "api_key_id", k.ID)
	co.setCookie(c, loginCookie, "", -1)
	co.setCookie(c, sessionCookie, id, 0)
	return c.Redirect(Prefix+"/", fiber.StatusSeeOther)
}

// logout ends the session at once (the row is deleted: the cookie is
// worthless afterwards, on every instance).
func (co *Console) logout(c *fiber.Ctx) error {
	if err := co.deps.Sessions.DeleteConsoleSession(c.UserContext(), hashID(c.Cookies(sessionCookie))); err != nil {
		return co.fail(c, err)
	}
	co.setCookie(c, sessionCookie, "", -1)
	return c.Redirect(Prefix+"/login?why=signed_out", fiber.StatusSeeOther)
}
