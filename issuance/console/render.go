package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/isocode"
)

// pages holds one parsed template set per page, each with the layout.
type pages struct {
	byName map[string]*template.Template
}

// pageNames are the templates in templates/, each a "content" block that
// the layout frames.
var pageNames = []string{"login", "error", "overview", "stream", "cards", "card", "authorization", "products", "keys", "reveal", "events", "event"}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing console template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string // the menu entry to highlight
	Session *session
	Sandbox bool
	Data    any
}

// CSRF is the session's token for the page's forms.
func (v view) CSRF() string {
	if v.Session == nil {
		return ""
	}
	return v.Session.CSRF
}

// render writes the page name with status; data is the page's own data.
func (co *Console) render(c *fiber.Ctx, status int, name string, data any) error {
	t := co.pages.byName[name]
	s := sessionOf(c)
	v := view{Title: titles[name], Nav: name, Session: s, Sandbox: co.cfg.Sandbox || (s != nil && s.Tenant.Sandbox), Data: data}
	switch name {
	case "card", "authorization", "reveal":
		v.Nav = "cards"
	case "event":
		v.Nav = "events"
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		co.log.Error("rendering console page", "page", name, "request_id", requestID(c), "err", err)
		return c.Status(fiber.StatusInternalServerError).SendString("internal error")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(b.Bytes())
}

var titles = map[string]string{
	"login": "Sign in", "error": "Error", "overview": "Overview", "stream": "Live authorizations", "cards": "Cards",
	"card": "Card", "authorization": "Authorization", "products": "Products and templates", "keys": "API keys", "reveal": "Card data",
	"events": "Events and webhook deliveries", "event": "Event",
}

// errorPage is the data of the error page.
type errorPage struct {
	Status        int
	Title, Detail string
}

// problem renders the error page.
func (co *Console) problem(c *fiber.Ctx, status int, title, detail string) error {
	return co.render(c, status, "error", errorPage{Status: status, Title: title, Detail: detail})
}

// fail renders err with the status the API gives it: a business
// rejection shows its message, a failure only its request id (the details
// go to the log).
func (co *Console) fail(c *fiber.Ctx, err error) error {
	status := co.deps.API.StatusOf(err)
	var ie *issuance.Error
	switch {
	case errors.As(err, &ie):
		return co.problem(c, status, http.StatusText(status), ie.Message)
	case errors.Is(err, issuance.ErrNotFound):
		return co.problem(c, http.StatusNotFound, "Not found", "There is no such page or object in this tenant.")
	case status == http.StatusServiceUnavailable:
		return co.problem(c, status, "Unavailable", "A backing service is unavailable; retry in a moment.")
	}
	co.log.Error("console request failed", "request_id", requestID(c), "route", c.Route().Path, "err", err)
	return co.problem(c, http.StatusInternalServerError, "Internal error", "Something went wrong; it has been logged with request id "+requestID(c)+".")
}

// contentSecurityPolicy allows only the console's own scripts and styles:
// no inline script, no other origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the console's security headers on every answer; pages are
// never cached (they show a tenant's data).
func (co *Console) headers(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// serveStatic serves the embedded stylesheet and vendored scripts (their
// names carry their versions, so they may be cached).
func (co *Console) serveStatic(static fs.FS) fiber.Handler {
	return func(c *fiber.Ctx) error {
		name := path.Clean(c.Params("*"))
		b, err := fs.ReadFile(static, name)
		if err != nil || strings.HasSuffix(name, "/") {
			return co.problem(c, fiber.StatusNotFound, "Not found", "No such file.")
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		c.Set(fiber.HeaderContentType, ct)
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		return c.Send(b)
	}
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"money":     money,
	"currency":  currencyAlpha,
	"when":      when,
	"reason":    reasonWords,
	"decider":   decidedBy,
	"approved":  func(a *host.Authorization) bool { return a.Code == "00" || a.Code == "10" },
	"join":      strings.Join,
	"hasPrefix": strings.HasPrefix,
	"merchant":  merchant,
	"sub":       func(a, b int64) int64 { return a - b },
	"since":     func(from, to time.Time) time.Duration { return to.Sub(from) },
	"title": func(v any) string {
		s := fmt.Sprint(v)
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"ms":  msOf,
	"pct": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) },
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
}

// currencyAlpha turns an ISO 4217 numeric code (as in ISO 8583 field 49)
// into its letters; letters stay as they are.
func currencyAlpha(code string) string {
	if a, ok := isocode.CurrencyAlpha(code); ok {
		return a
	}
	return code
}

// money shows minor units in the currency's major unit: "12.34 EUR".
func money(amount int64, currency string) string {
	cur := currencyAlpha(currency)
	digits, ok := isocode.CurrencyMinorUnits(cur)
	if !ok {
		return strconv.FormatInt(amount, 10) + " " + cur + " (minor units)"
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	s := strconv.FormatInt(amount, 10)
	if digits > 0 {
		for len(s) <= digits {
			s = "0" + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	return sign + s + " " + cur
}

// when shows a time in UTC to the second.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// msOf shows a duration in milliseconds with one decimal.
func msOf(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

// merchant is a record's merchant as the acquirer named it (field 43: name
// and city), else its merchant id (field 42).
func merchant(a *host.Authorization) string {
	if len(a.Acceptor) >= 25 {
		name := strings.TrimSpace(a.Acceptor[:25])
		if len(a.Acceptor) >= 38 {
			if city := strings.TrimSpace(a.Acceptor[25:38]); city != "" {
				name += ", " + city
			}
		}
		if name != "" {
			return name
		}
	}
	return strings.TrimSpace(a.Merchant)
}
