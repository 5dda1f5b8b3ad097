package rest

import (
	"errors"
	"fmt"
	"github.com/cardhost/cardhost/issuance/ca"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/httpsig"
)

// Request signing (DESIGN.md "REST API"; docs/api.md "Request signing"). A
// tenant that registered a public key must sign every request with RFC 9421
// HTTP message signatures; package httpsig holds the policy and the
// verification. Every failure is a 401 signature_invalid whose detail names
// the check that failed; the Accept-Signature header says what to sign.

// fiberSigMessage adapts a fiber request.
func fiberSigMessage(c *fiber.Ctx) httpsig.Message {
	req := c.Request()
	return httpsig.Message{
		Method:    c.Method(),
		Scheme:    c.Protocol(),
		Authority: string(req.Host()),
		Path:      string(req.URI().PathOriginal()),
		Query:     string(req.URI().QueryString()),
		Header: func(name string) []string {
			vals := req.Header.PeekAll(name)
			if len(vals) == 0 {
				return nil
			}
			out := make([]string, len(vals))
			for i, v := range vals {
				out[i] = string(v)
			}
			return out
		},
	}
}

// verifySignature checks the RFC 9421 signature of a request from a tenant
// that registered a signing key, at time now.
func verifySignature(c *fiber.Ctx, t issuance.Tenant, now time.Time) error {
	pub, alg, err := ca.ParseSigningKey(t.SigningKeyPEM)
	if err != nil {
		return fmt.Errorf("reading the tenant's signing key: %w", err)
	}
	err = httpsig.Verify(fiberSigMessage(c), c.Body(), t.SigningKeyID, pub, httpsig.Algorithm(alg), now)
	var rejected *httpsig.Error
	if errors.As(err, &rejected) {
		c.Set("Accept-Signature", httpsig.AcceptSignature(t.SigningKeyID, httpsig.Algorithm(alg)))
		return &issuance.Error{Slug: slugSignatureInvalid, Message: rejected.Reason}
	}
	return err
}
