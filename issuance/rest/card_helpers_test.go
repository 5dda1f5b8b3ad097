package rest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/emboss"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/rest"
)

// withCards wires the card store on top of the catalog and platform keys.
func withCards(t *testing.T) envOption {
	cat := withCatalog(t)
	return func(c *rest.Config, d *issuance.Deps) {
		cat(c, d)
		d.Cards = d.Tenants.(*postgres.DB)
	}
}

// withClock makes the card domain read time from clk.
func withClock(clk *testClock) envOption {
	return func(_ *rest.Config, d *issuance.Deps) { d.Now = clk.Now }
}

// withoutSandbox turns the server's sandbox mode off (tenants created by
// the test decide for themselves).
func withoutSandbox() envOption {
	return func(c *rest.Config, d *issuance.Deps) { c.Sandbox, d.Sandbox = false, false }
}

// testClock is a clock a test moves by hand.
type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time { return c.t }

// cardEnv is an env with a catalog ready for cards: a VIRTUAL default
// product (createCatalog), a PLASTIC product, and an embosser with manual
// issue, all under a transport key whose clear value the test knows.
type cardEnv struct {
	*env
	keys       catalogKeys
	cat        catalogObjects
	plastic    string // PLASTIC product on the loopback embosser
	manual     string // embosser with manual_issue
	manualProd string // PLASTIC product on the manual embosser
	kek        []byte // clear transport key
	embossDir  string
	apiKey     string // the tenant's API key
	tenantID   string
}

// do sends a request as the cardEnv's tenant.
func (ce *cardEnv) do(method, path string, body any, headers ...string) response {
	ce.t.Helper()
	return ce.doKey(ce.apiKey, method, path, body, headers...)
}

func newCardEnv(t *testing.T, opts ...envOption) *cardEnv {
	t.Helper()
	e := newEnv(t, append([]envOption{withCards(t)}, opts...)...)
	return setUpCards(t, e, e.key, e.tenant.ID)
}

// setUpCards creates the catalog for a tenant (key) of env e.
func setUpCards(t *testing.T, e *env, key, tenantID string) *cardEnv {
	t.Helper()
	ce := &cardEnv{env: e, embossDir: t.TempDir(), apiKey: key, tenantID: tenantID}
	ce.keys = newCatalogKeys(t, e, tenantID)
	ce.keys.kek, ce.kek = importKEK(t, e, tenantID)
	ce.cat = createCatalog(t, e, key, ce.keys)
	var emb struct{ ID string }
	mustStatus(t, e.doKey(key, "POST", "/v1/embossers", map[string]any{"name": "Manual", "transport_key_reference": ce.keys.kek, "manual_issue": true}), 201).JSON(t, &emb)
	ce.manual = emb.ID
	ce.plastic = createProduct(t, e, key, ce.cat, ce.cat.embosser, "PLASTIC")
	ce.manualProd = createProduct(t, e, key, ce.cat, ce.manual, "PLASTIC")
	return ce
}

func createProduct(t *testing.T, e *env, key string, cat catalogObjects, embosser, cardType string) string {
	t.Helper()
	var prd struct {
		ID string `json:"product_id"`
	}
	mustStatus(t, e.doKey(key, "POST", "/v1/card-products", map[string]any{
		"name": cardType + " product", "layout_id": cat.layout, "data_prep_template_id": cat.template,
		"default_embosser_id": embosser, "currency": "EUR", "card_type": cardType, "validity_months": 48,
	}), 201).JSON(t, &prd)
	return prd.ID
}

// importKEK imports a random AES-256 transport key of the tenant as two
// components and returns its reference and clear value.
func importKEK(t *testing.T, e *env, tenantID string) (string, []byte) {
	t.Helper()
	clear := make([]byte, 32)
	_, _ = rand.Read(clear)
	c2 := bytes.Repeat([]byte{0x3C}, 32)
	c1 := make([]byte, 32)
	subtle.XORBytes(c1, clear, c2)
	kcv, _ := emv.KCV(emv.AlgorithmAES, clear)
	info, err := e.hsm.ImportComponents(context.Background(), softhsm.ImportRequest{
		KeyRequest: softhsm.KeyRequest{Type: emv.KeyKEK, Spec: emv.KeySpecAES256, Tenant: tenantID},
		Components: []emv.SecretBytes{c1, c2}, KCV: emv.EncodeHex(kcv),
	})
	if err != nil {
		t.Fatal(err)
	}
	return info.Ref, clear
}

// cardOut is the part of a card response the tests read.
type cardOut struct {
	CardID            string                     `json:"card_id"`
	ReferenceNumber   string                     `json:"reference_number"`
	ReferenceID       string                     `json:"reference_id"`
	Status            string                     `json:"status"`
	StatusReason      string                     `json:"status_reason"`
	EmbossingStatus   string                     `json:"embossing_status"`
	Type              string                     `json:"type"`
	ProductID         string                     `json:"product_id"`
	CardholderID      string                     `json:"cardholder_id"`
	PrintedName       string                     `json:"printed_name"`
	MaskedPAN         string                     `json:"masked_pan"`
	Last4             string                     `json:"last4"`
	Expiry            string                     `json:"expiry"`
	ExpiryMMYY        string                     `json:"expiry_mm_yy"`
	Currency          string                     `json:"currency"`
	CardLimit         *int64                     `json:"card_limit"`
	SpendingControls  []issuance.SpendingControl `json:"spending_controls"`
	RiskControls      issuance.RiskControls      `json:"risk_controls"`
	UsageType         string                     `json:"usage_type"`
	AutoCancelTrigger string                     `json:"auto_cancel_trigger"`
	ExpiryAt          *time.Time                 `json:"expiry_at"`
	PINLength         int                        `json:"pin_length"`
	PINSet            bool                       `json:"pin_set"`
	Metadata          map[string]any             `json:"metadata"`
	Imported          bool                       `json:"imported"`
	OrderID           string                     `json:"order_id"`
	Errors            []any                      `json:"errors"`
}

// createCard creates a card of product with the given extra fields and
// returns it (failing the test unless the answer is 201).
func (ce *cardEnv) createCard(t *testing.T, product string, extra map[string]any) cardOut {
	t.Helper()
	var c cardOut
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(product, extra)), 201).JSON(t, &c)
	return c
}

func cardBody(product string, extra map[string]any) map[string]any {
	return overlay(map[string]any{"product_id": product, "card_holder_name": "Joao da Silva"}, extra)
}

// overlay sets extra's fields in body (a nil value removes the field) and
// returns body.
func overlay(body, extra map[string]any) map[string]any {
	for k, v := range extra {
		if v == nil {
			delete(body, k)
			continue
		}
		body[k] = v
	}
	return body
}

var shipping = map[string]any{"line1": "Av. Paulista 1000", "city": "Sao Paulo", "postal_code": "01310-100", "country": "BR"}

// reveal returns a card's PAN, CVV2 and expiry through the API.
func (ce *cardEnv) reveal(t *testing.T, id string) (pan, cvv2, expiry string) {
	t.Helper()
	var r struct{ PAN, CVV2, Expiry string }
	mustStatus(t, ce.do("POST", "/v1/cards/"+id+"/reveal", nil), 200).JSON(t, &r)
	return r.PAN, r.CVV2, r.Expiry
}

// emboss drains the embossing queue through the loopback embosser.
func (ce *cardEnv) emboss(t *testing.T) int {
	t.Helper()
	n, err := emboss.NewWorker(ce.svc, &emboss.Loopback{Dir: ce.embossDir}, emboss.Config{}, nil).Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// getCard reads a card through the API.
func (ce *cardEnv) getCard(t *testing.T, id string) cardOut {
	t.Helper()
	var c cardOut
	mustStatus(t, ce.do("GET", "/v1/cards/"+id, nil), 200).JSON(t, &c)
	return c
}

// cardEvents returns the types of a card's outbox events, in order, with
// their previous status and reason ("card.frozen ACTIVE").
func cardEvents(t *testing.T, db *postgres.DB, cardID string) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `SELECT type, coalesce(data->>'previous_status', ''), coalesce(data->>'reason', '')
		FROM outbox WHERE subject = $1 ORDER BY seq`, cardID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, prev, reason string
		if err := rows.Scan(&typ, &prev, &reason); err != nil {
			t.Fatal(err)
		}
		s := typ
		if prev != "" {
			s += " " + prev
		}
		if reason != "" {
			s += " " + reason
		}
		out = append(out, s)
	}
	return out
}

// tlvTag is the tag type of emv.ARQCCheck.ICC.
type tlvTag = tlv.Tag
