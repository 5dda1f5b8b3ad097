package rest

import (
	"bytes"

	"github.com/cardhost/cardhost/issuance/rest/reference"
	"github.com/gofiber/fiber/v2"
)

// The API reference at /docs is Redoc (package reference: vendored,
// versioned, embedded; no CDN) rendering /openapi.json from the same
// origin, with the reference rendered on the server inside <noscript>;
// /docs?static=1 is that server-rendered page alone (no script).

// docsScriptPath is where the vendored renderer is served.
const docsScriptPath = "/docs/" + reference.Script

// serveDocs renders the API reference.
func (s *Server) serveDocs(c *fiber.Ctx) error {
	doc := s.openAPI(c.BaseURL())
	var buf bytes.Buffer
	render := func() error { return reference.Page(&buf, doc, "/openapi.json", docsScriptPath) }
	if c.Query("static") != "" {
		render = func() error { return reference.Static(&buf, doc) }
	}
	if err := render(); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentSecurityPolicy, reference.ContentSecurityPolicy)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

// serveDocsScript serves the renderer: its name carries its version, so
// browsers may keep it for good.
func (s *Server) serveDocsScript(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(reference.ScriptBytes())
}

// serveIndex answers / with a pointer to the reference.
func (s *Server) serveIndex(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.SendString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cardhost</title></head><body>` +
		`<h1>cardhost</h1><p>The issuance API: <a href="/docs">API reference</a> · <a href="/openapi.json">OpenAPI document</a> · ` +
		`<a href="/healthz">health</a> · <a href="/readyz">readiness</a></p></body></html>` + "\n")
}
