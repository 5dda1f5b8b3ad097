package rest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/issuance/emboss"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/rest"
	whpg "github.com/cardhost/cardhost/issuance/webhook/postgres"
)

// The tenant isolation walk: tenant B calls every operation of
// /openapi.json against tenant A's objects, over real HTTP and a real
// PostgreSQL schema. The server here is wired without the authorization
// host; cmd/cardhost's TestTenantIsolationOfHostOperations walks the
// host's operations (authorizations, spend, the ISO simulator), which need
// ISO traffic through the running binary.

// apiAnswer is one answer as received, with the request that asked.
type apiAnswer struct {
	Method, Path string
	Request      []byte // the request body sent
	response
}

// decode unmarshals the body into v, failing the test on bad JSON.
func (a apiAnswer) decode(t *testing.T, v any) { t.Helper(); a.JSON(t, v) }

// slug is the problem slug of an error answer ("" for other answers).
func (a apiAnswer) slug() string {
	var p rest.Problem
	if strings.HasPrefix(a.Header.Get("Content-Type"), "application/problem+json") {
		_ = json.Unmarshal(a.Body, &p)
	}
	return p.Slug
}

// must fails the test unless the answer has the status.
func (a apiAnswer) must(t *testing.T, status int) apiAnswer {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s %s: %d %s, want %d", a.Method, a.Path, a.Status, a.Body, status)
	}
	return a
}

// apiClient calls one server (env) as one tenant (key), or, with
// onBehalfOf, as that sub-account of the key's tenant (x-on-behalf-of).
type apiClient struct {
	e          *env
	key        string
	seq        int
	onBehalfOf string
}

// do sends a request. body is JSON-encoded unless it is nil or []byte;
// headers are name, value pairs. A POST gets a fresh Idempotency-Key
// unless headers name one ("" sends none).
func (c *apiClient) do(method, path string, body any, headers ...string) apiAnswer {
	c.e.t.Helper()
	var sent []byte
	if body != nil {
		var ok bool
		if sent, ok = body.([]byte); !ok {
			raw, err := json.Marshal(body)
			if err != nil {
				c.e.t.Fatal(err)
			}
			sent = raw
		}
	}
	idem := method == http.MethodPost
	var hs []string
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Idempotency-Key") {
			idem = false
			if headers[i+1] == "" {
				continue
			}
		}
		hs = append(hs, headers[i], headers[i+1])
	}
	if idem {
		c.seq++
		hs = append(hs, "Idempotency-Key", fmt.Sprintf("walk-%d-%d", time.Now().UnixNano(), c.seq))
	}
	if c.onBehalfOf != "" {
		hs = append(hs, "x-on-behalf-of", c.onBehalfOf)
	}
	var b any
	if body != nil {
		b = sent
	}
	return apiAnswer{Method: method, Path: path, Request: sent, response: c.e.doKey(c.key, method, path, b, hs...)}
}

// apiOperation is one operation of a server's /openapi.json.
type apiOperation struct {
	ID, Method, Path string // Path in OpenAPI form: /v1/cards/{id}
	Public           bool
	Query            []string // query parameter names
	Sandbox          bool     // sandbox-only
	HasBody          bool     // takes a JSON request body
}

// openAPIOperations reads the operations a server publishes, in path and
// method order.
func openAPIOperations(t *testing.T, base string) []apiOperation {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string            `json:"operationId"`
			Description string            `json:"description"`
			Security    []json.RawMessage `json:"security"`
			RequestBody json.RawMessage   `json:"requestBody"`
			Parameters  []struct{ Name, In string }
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("decoding /openapi.json: %v", err)
	}
	var ops []apiOperation
	for path, methods := range doc.Paths {
		for method, o := range methods {
			op := apiOperation{ID: o.OperationID, Method: strings.ToUpper(method), Path: path,
				Public: o.Security != nil && len(o.Security) == 0, Sandbox: strings.Contains(o.Description, "Sandbox mode only"), HasBody: len(o.RequestBody) > 0}
			for _, p := range o.Parameters {
				if p.In == "query" {
					op.Query = append(op.Query, p.Name)
				}
			}
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Path+" "+ops[i].Method < ops[j].Path+" "+ops[j].Method })
	if len(ops) < 40 {
		t.Fatalf("/openapi.json lists %d operations: the walk would prove little", len(ops))
	}
	return ops
}

// pollUntil polls cond every 100ms until it holds or timeout passes.
func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// settle runs the background work cmd/cardhost runs in its workers: the
// embossing queue (loopback embosser), pending batch items, and the
// webhook dispatcher's ingest of new events (not its deliveries).
func settle(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	defer func() {
		for {
			n, err := whpg.New(e.db).Ingest(ctx, 1000, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
		}
	}()
	if _, err := emboss.NewWorker(e.svc, &emboss.Loopback{Dir: t.TempDir()}, emboss.Config{}, nil).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := e.svc.ProcessBatchItems(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// newCSR returns the PKCS #10 request (PEM) of a fresh P-256 key.
func newCSR(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return string(pemCSR(csrFor(t, k)))
}

// tableRows is one table's rows of a tenant, each as JSON text, sorted.
type tableRows struct {
	Name string
	Rows []string
}

// tenantRows returns the tenant's rows of every table with a tenant_id.
func tenantRows(t *testing.T, db *postgres.DB, tenantID string) []tableRows {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Pool().Query(ctx, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'tenant_id'
		  AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')
		ORDER BY 1`)
	if err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(names) < 8 {
		t.Fatalf("tables with a tenant_id: %v, %v", names, err)
	}
	var out []tableRows
	for _, name := range names {
		r, err := db.Pool().Query(ctx, `SELECT row_to_json(t)::text FROM `+pgx.Identifier{name}.Sanitize()+` t WHERE t.tenant_id = $1 ORDER BY 1`, tenantID)
		if err != nil {
			t.Fatalf("dumping %s: %v", name, err)
		}
		texts, err := pgx.CollectRows(r, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("dumping %s: %v", name, err)
		}
		out = append(out, tableRows{Name: name, Rows: texts})
	}
	return out
}

// isolationTenant is what one tenant owns, made through the API: one
// object of every kind, and the values that must never reach another
// tenant.
type isolationTenant struct {
	c  *apiClient
	id string
	// sub is set for a sub-account (which owns no sub-accounts).
	sub bool
	// ids maps an API collection (the path segment before {id}) to one of
	// the tenant's objects in it.
	ids map[string]string
	// values are every id and distinctive value of the tenant, by name.
	values map[string]string

	virtualProduct, plasticProduct, plasticCard string
	seededProduct, seededEmbosser               string
	imkAC, cvk, pvk, kek                        string     // the tenant's own HSM key references
	bins                                        tenantBINs // its BIN ranges
	ipk                                         string     // hsm_key_reference of its issuer certificate
	csrPEM                                      string
	refID, layoutName, email, batchRequestID    string
	pan, last4                                  string
	idemKey                                     string // an Idempotency-Key it used on POST /v1/cards
	idemBody                                    map[string]any
}

// add records a value that must never reach another tenant.
func (o *isolationTenant) add(name, v string) {
	if v == "" {
		panic("empty isolation value " + name)
	}
	o.values[name] = v
}

// ownCatalog gives the tenant of o the catalog cmd/cardhost seeds for a
// sandbox tenant: its HSM keys (CVN 18 template), a loopback embosser that
// issues at once and a virtual product.
func ownCatalog(t *testing.T, e *env, o *isolationTenant) {
	t.Helper()
	k := newCatalogKeys(t, e, o.id)
	var headers []string
	if o.c.onBehalfOf != "" {
		headers = []string{"x-on-behalf-of", o.c.onBehalfOf}
	}
	cat := createCatalog(t, e, o.c.key, k, headers...)
	o.imkAC, o.cvk, o.pvk, o.kek, o.bins = k.imkAC, k.cvk, k.pvk, k.kek, k.bins
	o.seededEmbosser, o.seededProduct = cat.embosser, cat.product
}

// setUpIsolationTenant gives the tenant of c one object of every kind.
func setUpIsolationTenant(t *testing.T, e *env, c *apiClient, tag string) *isolationTenant {
	t.Helper()
	o := &isolationTenant{c: c, ids: map[string]string{}, values: map[string]string{}}
	low := strings.ToLower(tag)
	var ten struct{ ID string }
	c.do("GET", "/v1/tenant", nil).must(t, 200).decode(t, &ten)
	o.id, o.sub = ten.ID, c.onBehalfOf != ""
	o.add("tenant id", o.id)
	o.add("API key", c.key)
	ownCatalog(t, e, o)
	// A distinctive BIN range of its own, which no other tenant may see.
	binRange := fmt.Sprintf("473829%02d", int(tag[0])%100)
	if _, err := catalog.New(issuance.Deps{Catalog: e.db}).AssignBINRange(context.Background(), o.id, binRange); err != nil {
		t.Fatal(err)
	}
	o.add("BIN range", binRange)
	for name, v := range map[string]string{"IMK-AC reference": o.imkAC, "CVK reference": o.cvk, "PVK reference": o.pvk,
		"transport key reference": o.kek, "seeded product": o.seededProduct, "seeded embosser": o.seededEmbosser} {
		o.add(name, v)
	}

	var tpl struct{ ID string }
	c.do("POST", "/v1/data-prep-templates", map[string]any{"name": "Isolation " + tag + " template", "network": "VISA",
		"iin": o.bins.visa + "22", "cvn": 18, "aid": "A0000000031010", "service_code": "201",
		"imk_ac_key_reference": o.imkAC, "cvk_key_reference": o.cvk, "pvk_key_reference": o.pvk}).must(t, 201).decode(t, &tpl)
	var emb struct{ ID string }
	c.do("POST", "/v1/embossers", map[string]any{"name": "Isolation " + tag + " embosser", "type": "LOOPBACK",
		"transport_key_reference": o.kek}).must(t, 201).decode(t, &emb)
	o.layoutName = "isolation-" + low + "-layout"
	var lay struct {
		ID string `json:"layout_id"`
	}
	c.do("POST", "/v1/card-layouts", map[string]any{"layout": o.layoutName, "name": "Isolation " + tag + " layout"}).must(t, 201).decode(t, &lay)
	product := func(name, cardType, embosser string) string {
		var p struct {
			ID string `json:"product_id"`
		}
		c.do("POST", "/v1/card-products", map[string]any{"name": name, "layout_id": lay.ID, "data_prep_template_id": tpl.ID,
			"default_embosser_id": embosser, "currency": "USD", "card_type": cardType}).must(t, 201).decode(t, &p)
		return p.ID
	}
	o.virtualProduct = product("Isolation "+tag+" virtual", "VIRTUAL", emb.ID)
	o.plasticProduct = product("Isolation "+tag+" plastic", "PLASTIC", o.seededEmbosser) // the seeded embosser issues at once

	o.email = "quintessa.isolada." + low + "@tenant.example"
	var chd struct {
		ID string `json:"cardholder_id"`
	}
	c.do("POST", "/v1/cardholders", map[string]any{"first_name": "Quintessa", "last_name": "Isolada" + tag, "email": o.email,
		"phone": "+5511912345678", "birth_date": "1980-02-03", "nationality": "BR",
		"address": map[string]any{"line1": "Rua Isolada", "city": "Recife", "country": "BR"}}).must(t, 201).decode(t, &chd)
	c.do("POST", "/v1/simulator/cardholders/"+chd.ID+"/verify", nil).must(t, 200)

	o.csrPEM = newCSR(t)
	var crt struct {
		ID          string `json:"certificate_id"`
		IPK         string `json:"hsm_key_reference"`
		Fingerprint string `json:"fingerprint"`
		Serial      string `json:"serial_number"`
	}
	c.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": o.csrPEM}).must(t, 201).decode(t, &crt)
	o.ipk = crt.IPK

	// A webhook endpoint (its deliveries stay pending: no dispatcher runs
	// here) with a token in its URL.
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	hookToken := "isolation-" + low + "-hook-token-5d1e"
	c.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "https://hooks.isolation-" + low + ".example/cardhost?token=" + hookToken,
		"event_types": []string{"card.*", "order.*"}, "description": "Isolation " + tag + " hook"}).must(t, 201).decode(t, &hook)
	// A decision endpoint, its URL with a token.
	var decider struct {
		Secret string `json:"secret"`
	}
	deciderToken := "isolation-" + low + "-decider-token-9c2b"
	c.do("PUT", "/v1/authorization-decision", map[string]any{"url": "https://decide.isolation-" + low + ".example/x?token=" + deciderToken,
		"default_action": "APPROVE"}).must(t, 200).decode(t, &decider)

	o.refID = "ISOLATION-" + tag + "-REF-0001"
	o.idemKey = "isolation-shared-idempotency-key"
	o.idemBody = map[string]any{"product_id": o.virtualProduct, "cardholder_id": chd.ID, "reference_id": o.refID,
		"metadata": map[string]any{"isolation_note": "tenant-" + low + "-metadata-7f3a"}}
	var card struct {
		ID      string `json:"card_id"`
		RefNo   string `json:"reference_number"`
		OrderID string `json:"order_id"`
		Last4   string `json:"last4"`
	}
	c.do("POST", "/v1/cards", o.idemBody, "Idempotency-Key", o.idemKey).must(t, 201).decode(t, &card)
	var plastic struct {
		ID string `json:"card_id"`
	}
	c.do("POST", "/v1/cards", map[string]any{"product_id": o.plasticProduct, "card_holder_name": "QUINTESSA ISOLADA",
		"shipping_address": map[string]any{"line1": "Rua Isolada", "city": "Recife", "country": "BR"}}).must(t, 201).decode(t, &plastic)
	o.plasticCard = plastic.ID
	var rev struct{ PAN string }
	c.do("POST", "/v1/cards/"+card.ID+"/reveal", nil).must(t, 200).decode(t, &rev)
	o.pan, o.last4 = rev.PAN, card.Last4

	o.batchRequestID = "isolation-" + low + "-batch-0001"
	var bat struct {
		ID string `json:"batch_id"`
	}
	c.do("POST", "/v1/card-batches", map[string]any{"request_id": o.batchRequestID, "card_batch_info": []any{
		map[string]any{"product_id": o.virtualProduct, "card_holder_name": "BATCH ISOLADA"}}}).must(t, 202).decode(t, &bat)

	var key struct {
		ID     string `json:"id"`
		Prefix string `json:"prefix"`
		Secret string `json:"secret"`
	}
	c.do("POST", "/v1/api-keys", map[string]any{"name": "isolation", "scopes": []string{}}).must(t, 201).decode(t, &key)

	// Money: a deposit, a PREPAID product with an issue fee, a card of it
	// and a recharge, so that the ledger's tables hold A's rows too.
	var dep struct {
		TransferID string `json:"transfer_id"`
	}
	c.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "USD", "amount": 98765}).must(t, 201).decode(t, &dep)
	var prepaid struct {
		ID string `json:"product_id"`
	}
	c.do("POST", "/v1/card-products", map[string]any{"name": "Isolation " + tag + " prepaid", "layout_id": lay.ID, "data_prep_template_id": tpl.ID,
		"default_embosser_id": emb.ID, "currency": "USD", "card_type": "VIRTUAL", "funding_mode": "PREPAID", "issue_fee": 125}).must(t, 201).decode(t, &prepaid)
	var prepaidCard struct {
		ID string `json:"card_id"`
	}
	c.do("POST", "/v1/cards", map[string]any{"product_id": prepaid.ID, "card_holder_name": "QUINTESSA PREPAID"}).must(t, 201).decode(t, &prepaidCard)
	var rch struct {
		TransferID string `json:"transfer_id"`
	}
	c.do("POST", "/v1/cards/"+prepaidCard.ID+"/recharge", map[string]any{"amount": 4321}).must(t, 200).decode(t, &rch)

	// Background work settles: the plastic is embossed, the batch issued.
	var batchCard string
	pollUntil(t, 30*time.Second, "tenant "+tag+"'s plastic card and batch", func() bool {
		settle(t, e)
		var p struct{ Status string }
		c.do("GET", "/v1/cards/"+plastic.ID, nil).must(t, 200).decode(t, &p)
		var b struct {
			Status string
			Items  []struct {
				CardID string `json:"card_id"`
			}
		}
		c.do("GET", "/v1/card-batches/"+bat.ID, nil).must(t, 200).decode(t, &b)
		if len(b.Items) == 1 {
			batchCard = b.Items[0].CardID
		}
		return p.Status == "ACTIVE" && b.Status == "completed"
	})
	if batchCard == "" {
		t.Fatal("the batch issued no card")
	}

	settle(t, e) // every event of the tenant is in the event store
	var events struct {
		Data []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"data"`
	}
	c.do("GET", "/v1/events?type=card.created&card_id="+card.ID, nil).must(t, 200).decode(t, &events)
	if len(events.Data) != 1 {
		t.Fatalf("tenant %s's card.created events: %+v", tag, events.Data)
	}

	// A sub-account of its own (a sub-account has none).
	var subAccount struct {
		ID string `json:"id"`
	}
	if !o.sub {
		c.do("POST", "/v1/sub-accounts", map[string]any{"name": "Isolation " + tag + " sub-account"}).must(t, 201).decode(t, &subAccount)
	}

	o.ids = map[string]string{
		"webhook-endpoints": hook.ID, "events": events.Data[0].ID,
		"cards": card.ID, "card-products": o.virtualProduct, "data-prep-templates": tpl.ID, "embossers": emb.ID,
		"card-layouts": lay.ID, "cardholders": chd.ID, "certificates": crt.ID, "orders": card.OrderID,
		"card-batches": bat.ID, "api-keys": key.ID,
	}
	if subAccount.ID != "" {
		o.ids["sub-accounts"] = subAccount.ID
		o.add("sub-account name", "Isolation "+tag+" sub-account")
	}
	for coll, id := range o.ids {
		o.add(coll+" id", id)
	}
	for name, v := range map[string]string{
		"plastic card": plastic.ID, "plastic product": o.plasticProduct, "batch card": batchCard,
		"card reference number": card.RefNo, "reference_id": o.refID, "metadata value": "tenant-" + low + "-metadata-7f3a",
		"cardholder last name": "Isolada" + tag, "cardholder email": o.email, "layout": o.layoutName,
		"template name": "Isolation " + tag + " template", "embosser name": "Isolation " + tag + " embosser",
		"product name": "Isolation " + tag + " virtual", "issuer key reference": crt.IPK,
		"certificate fingerprint": crt.Fingerprint, "certificate serial": crt.Serial, "batch request_id": o.batchRequestID,
		"API key prefix": key.Prefix, "API key secret": key.Secret, "PAN": o.pan,
		"webhook secret": hook.Secret, "webhook URL token": hookToken, "webhook description": "Isolation " + tag + " hook",
		"decision secret": decider.Secret, "decision URL token": deciderToken,
		"deposit transfer": dep.TransferID, "prepaid product": prepaid.ID, "prepaid card": prepaidCard.ID, "recharge transfer": rch.TransferID,
	} {
		o.add(name, v)
	}
	return o
}

// missingID returns a well-formed id of the same kind that names nothing.
func missingID(id string) string {
	last := id[len(id)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return id[:len(id)-1] + string(repl)
}

// collectionOf returns the path segment before {id}: "cards" for
// /v1/simulator/cards/{id}/issue.
func collectionOf(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && i > 0 {
			return parts[i-1]
		}
	}
	return parts[len(parts)-1]
}

// luhnPAN returns a random Luhn-valid 16-digit PAN with the prefix (an
// IIN of 6 to 8 digits).
func luhnPAN(t *testing.T, prefix string) string {
	t.Helper()
	pan, err := dataprep.GeneratePAN(prefix, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pan.Reveal()
}

// isolationWalk drives tenant B against tenant A's objects.
type isolationWalk struct {
	t   *testing.T
	a   *isolationTenant // the victim
	b   *isolationTenant // the other tenant, with its own catalog
	ops int
	// shared are values B legitimately holds too (per-tenant namespace
	// probes), not searched for in the answer being scanned.
	shared map[string]bool
	// echoed are A's ids that B sent in a batch: B's own orders and batch
	// items name them in their error messages, and nowhere else.
	echoed map[string]bool
	// settle runs the background work (embossing, batch items).
	settle func()
	// related says how B is related to A through sub-accounts: "" (not
	// at all), "parent" (B is A's parent, walking without
	// x-on-behalf-of), "child" (B is A's sub-account, with its own key:
	// it may name A's HSM keys and BIN ranges, docs/api.md
	// "Sub-accounts") or "sibling" (both sub-accounts of one parent).
	related string
}

// errorMessageRE matches the error messages of orders and batch items.
var errorMessageRE = regexp.MustCompile(`"(last_error|error_message)":"[^"]*"`)

// isolationExcluded lists operations the walk does not call, with the
// reason. Every other operation of /openapi.json is called.
var isolationExcluded = map[string]string{}

// bodyFor returns a request body that passes validation, so that the call
// reaches the object look-up (a 422 would prove nothing).
func (w *isolationWalk) bodyFor(op apiOperation) any {
	switch op.ID {
	case "updateCard":
		return map[string]any{"metadata": map[string]any{"walk": "tenant-b"}}
	case "blockCard":
		return map[string]any{"reason": "lost"}
	case "freezeCard", "unfreezeCard", "cancelCard":
		return map[string]any{}
	case "setCardPIN":
		return map[string]any{"enciphered_pin_block": "0123456789ABCDEF0123456789ABCDEF", "incoming_pek": map[string]any{"key_reference": w.b.ipk}}
	case "updateCardProduct":
		return map[string]any{"name": "Renamed by tenant B"}
	case "updateCardholder":
		return map[string]any{"email": "tenant-b@tenant.example"}
	case "simulateCapture":
		return map[string]any{"amount": 100}
	case "simulateReversal":
		return map[string]any{}
	case "simulateCardPIN":
		return map[string]any{"pin": "2468"}
	case "updateWebhookEndpoint":
		return map[string]any{"description": "changed by tenant B"}
	case "recoverWebhookEndpoint":
		return map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}
	case "rechargeCard", "withdrawCard":
		return map[string]any{"amount": 100}
	}
	if op.HasBody {
		return map[string]any{}
	}
	return nil
}

// scan fails the test if an answer to tenant B holds any of tenant A's
// ids or values, other than those B itself sent in that request (a
// problem's "instance" is the path, and a "no card product prd_..."
// detail names the id B asked for, exactly as for a missing one).
func (w *isolationWalk) scan(ans apiAnswer) {
	w.t.Helper()
	var hdr bytes.Buffer
	for k, vs := range ans.Header {
		fmt.Fprintf(&hdr, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	withoutMessages := errorMessageRE.ReplaceAll(ans.Body, nil)
	for name, v := range w.a.values {
		if w.shared[v] || strings.Contains(ans.Path, v) || bytes.Contains(ans.Request, []byte(v)) {
			continue
		}
		body := ans.Body
		if w.echoed[v] {
			body = withoutMessages
		}
		if bytes.Contains(body, []byte(v)) || bytes.Contains(hdr.Bytes(), []byte(v)) {
			w.t.Errorf("%s %s (tenant B) answered %d with tenant A's %s: %.300s", ans.Method, ans.Path, ans.Status, name, ans.Body)
		}
	}
}

// sameAsMissing sends two requests that differ only in naming one of A's
// objects or a missing one, and fails unless they are answered alike
// (status and slug) with want.
func (w *isolationWalk) sameAsMissing(what string, want int, send func(missing bool) apiAnswer) apiAnswer {
	w.t.Helper()
	got, ref := send(false), send(true)
	w.scan(got)
	w.scan(ref)
	if got.Status != want {
		w.t.Errorf("%s: tenant B naming tenant A's object: %s %s answered %d %s, want %d", what, got.Method, got.Path, got.Status, got.Body, want)
	}
	if got.Status != ref.Status || got.slug() != ref.slug() {
		w.t.Errorf("%s: another tenant's object answers %d %s but a missing one %d %s: an existence oracle", what, got.Status, got.slug(), ref.Status, ref.slug())
	}
	if got.Header.Get("Idempotent-Replayed") != "" {
		w.t.Errorf("%s: tenant B got a replayed answer", what)
	}
	return got
}

func (w *isolationWalk) operation(op apiOperation) {
	w.t.Helper()
	w.ops++
	if reason, ok := isolationExcluded[op.ID]; ok {
		w.t.Logf("not called: %s %s (%s): %s", op.Method, op.Path, op.ID, reason)
		return
	}
	if strings.Contains(op.Path, "{") {
		w.byID(op)
		return
	}
	if f := w.custom(op.ID); f != nil {
		f()
		return
	}
	if op.Method == "GET" {
		w.list(op)
		return
	}
	w.t.Errorf("%s %s (%s) is neither called by the isolation walk nor excluded with a reason: add it to isolation_test.go (issuance/rest)",
		op.Method, op.Path, op.ID)
}

// byID calls an operation on one of A's objects: 404, exactly as for a
// missing object (403 sandbox_only would be right for a simulator route
// on a production server; this one is in sandbox mode).
func (w *isolationWalk) byID(op apiOperation) {
	w.t.Helper()
	coll := collectionOf(op.Path)
	id, ok := w.a.ids[coll]
	if coll == "sub-accounts" && w.a.sub {
		w.t.Logf("not called: %s %s (%s): tenant A is a sub-account and owns none", op.Method, op.Path, op.ID)
		return
	}
	if coll == "sub-accounts" && w.b.sub {
		// B, a sub-account, owns none: 403 for A's as for a missing one.
		w.sameAsMissing(op.ID, 403, func(missing bool) apiAnswer {
			ref := id
			if missing {
				ref = missingID(id)
			}
			return w.b.c.do(op.Method, strings.Replace(op.Path, "{id}", ref, 1), nil)
		})
		return
	}
	if !ok {
		w.t.Errorf("%s %s (%s): the walk has no object of tenant A in %q: add one to setUpIsolationTenant", op.Method, op.Path, op.ID, coll)
		return
	}
	body := w.bodyFor(op)
	w.sameAsMissing(op.ID, 404, func(missing bool) apiAnswer {
		ref := id
		if missing {
			ref = missingID(id)
		}
		return w.b.c.do(op.Method, strings.Replace(op.Path, "{id}", ref, 1), body)
	})
}

// list calls a GET without path parameters, then once per query parameter
// naming one of A's objects; a filter on A's object lists nothing.
func (w *isolationWalk) list(op apiOperation) {
	w.t.Helper()
	ans := w.b.c.do("GET", op.Path, nil)
	if ans.Status >= 500 {
		w.t.Errorf("GET %s: %d %s", op.Path, ans.Status, ans.Body)
	}
	w.scan(ans)
	filters := map[string]string{
		"product_id": w.a.virtualProduct, "cardholder_id": w.a.ids["cardholders"], "card_id": w.a.ids["cards"],
		"batch_id": w.a.ids["card-batches"], "reference_id": w.a.refID,
	}
	for _, q := range op.Query {
		v, filter := filters[q]
		switch {
		case filter:
		case q == "starting_after":
			if v = w.a.ids[collectionOf(op.Path)]; v == "" {
				continue
			}
		case q == "last4":
			v = w.a.last4
		default:
			continue
		}
		ans := w.b.c.do("GET", op.Path+"?"+q+"="+url.QueryEscape(v), nil)
		if ans.Status >= 500 {
			w.t.Errorf("GET %s: %d %s", ans.Path, ans.Status, ans.Body)
		}
		w.scan(ans)
		if filter && ans.Status == 200 {
			var l struct{ Data []json.RawMessage }
			ans.decode(w.t, &l)
			if len(l.Data) != 0 {
				w.t.Errorf("GET %s (tenant B) listed %d objects for tenant A's %s", ans.Path, len(l.Data), q)
			}
		}
	}
}

// custom returns the walk of an operation without path id that names
// other objects in its body, or nil.
func (w *isolationWalk) custom(id string) func() {
	a, b, t := w.a, w.b, w.t
	cardBody := func(extra map[string]any) map[string]any {
		m := map[string]any{"product_id": b.seededProduct, "card_holder_name": "TENANT B WALK"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	switch id {
	case "createCard":
		return func() {
			w.b.c.do("POST", "/v1/cards", cardBody(nil)).must(t, 201) // the probes below are valid but for one member
			// A's exact request, with A's Idempotency-Key: never A's stored answer.
			w.sameAsMissing("createCard with tenant A's request and Idempotency-Key", 404, func(missing bool) apiAnswer {
				body := map[string]any{}
				for k, v := range a.idemBody {
					body[k] = v
				}
				if missing {
					body["product_id"] = missingID(a.virtualProduct)
					return w.b.c.do("POST", "/v1/cards", body, "Idempotency-Key", a.idemKey+"-missing")
				}
				return w.b.c.do("POST", "/v1/cards", body, "Idempotency-Key", a.idemKey)
			})
			for member, v := range map[string]string{"product_id": a.virtualProduct, "cardholder_id": a.ids["cardholders"], "embosser_id": a.seededEmbosser} {
				w.sameAsMissing("createCard with tenant A's "+member, 404, func(missing bool) apiAnswer {
					if missing {
						v = missingID(v)
					}
					return w.b.c.do("POST", "/v1/cards", cardBody(map[string]any{member: v}))
				})
			}
			// A PIN block under tenant A's issuer key: at creation and on B's card.
			pek := func(ref string) map[string]any {
				return map[string]any{"enciphered_pin_block": "0123456789ABCDEF0123456789ABCDEF", "incoming_pek": map[string]any{"key_reference": ref}}
			}
			otherIPK := "ipk_" + strings.Repeat("0", 26)
			w.sameAsMissing("createCard with tenant A's issuer key", 422, func(missing bool) apiAnswer {
				ref := a.ipk
				if missing {
					ref = otherIPK
				}
				return w.b.c.do("POST", "/v1/cards", cardBody(pek(ref)))
			})
			var own struct {
				ID string `json:"card_id"`
			}
			w.b.c.do("POST", "/v1/cards", cardBody(nil)).must(t, 201).decode(t, &own)
			w.sameAsMissing("setCardPIN with tenant A's issuer key", 422, func(missing bool) apiAnswer {
				ref := a.ipk
				if missing {
					ref = otherIPK
				}
				return w.b.c.do("POST", "/v1/cards/"+own.ID+"/pin", pek(ref))
			})
		}
	case "importCard":
		return func() {
			imp := func(extra map[string]any) map[string]any {
				m := map[string]any{"pan": luhnPAN(t, b.bins.visa), "expiry": time.Now().AddDate(2, 0, 0).Format("0601"), "network": "VISA", "cvn": 18,
					"imk_ac_key_reference": b.imkAC, "cvk_key_reference": b.cvk, "product_id": b.seededProduct}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}
			w.b.c.do("POST", "/v1/cards/import", imp(nil)).must(t, 201)
			// Objects are not found (404); HSM key references are checked as
			// fields ("an active key of this tenant (or shared)", 422).
			for member, v := range map[string]string{"product_id": a.virtualProduct, "imk_ac_key_reference": a.imkAC,
				"cvk_key_reference": a.cvk, "pvk_key_reference": a.pvk, "cardholder_id": a.ids["cardholders"]} {
				want := 404
				if strings.HasPrefix(v, "key_") {
					want = 422
					if w.related == "child" { // its parent's keys: usable
						extra := map[string]any{member: v}
						if member == "pvk_key_reference" {
							extra["pin_method"], extra["pvki"], extra["pvv"] = "PVV", "1", "1234"
						}
						w.scan(w.b.c.do("POST", "/v1/cards/import", imp(extra)).must(t, 201))
						continue
					}
				}
				missingRef := missingID(v)
				if strings.HasPrefix(v, "key_") { // HSM references are lower-case base32
					missingRef = "key_" + strings.Repeat("a", len(v)-4)
				}
				w.sameAsMissing("importCard with tenant A's "+member, want, func(missing bool) apiAnswer {
					ref := v
					if missing {
						ref = missingRef
					}
					extra := map[string]any{member: ref}
					if member == "pvk_key_reference" {
						extra["pin_method"], extra["pvki"], extra["pvv"] = "PVV", "1", "1234"
					}
					return w.b.c.do("POST", "/v1/cards/import", imp(extra))
				})
			}
			// PANs are unique platform-wide, but B imports only in its own
			// BIN ranges (docs/api.md, BIN ranges): A's card answers as a
			// PAN of A's range that is no card, and as a PAN of no range,
			// so the answer tells B nothing about A's cards.
			got := w.sameAsMissing("importCard with tenant A's PAN", 422, func(missing bool) apiAnswer {
				pan := a.pan
				if missing {
					pan = luhnPAN(t, a.bins.visa)
				}
				return w.b.c.do("POST", "/v1/cards/import", imp(map[string]any{"pan": pan}))
			})
			if got.slug() != "pan_outside_bin_ranges" {
				t.Errorf("importing tenant A's PAN as tenant B: %d %s, want 422 pan_outside_bin_ranges", got.Status, got.Body)
			}
			w.sameAsMissing("importCard of a PAN in tenant A's BIN range", 422, func(missing bool) apiAnswer {
				pan := luhnPAN(t, a.bins.visa)
				if missing {
					pan = luhnPAN(t, "49999999")
				}
				return w.b.c.do("POST", "/v1/cards/import", imp(map[string]any{"pan": pan}))
			})
			// pan_taken is about B's own cards only.
			var own struct{ PAN string }
			var c struct {
				ID string `json:"card_id"`
			}
			w.b.c.do("POST", "/v1/cards", cardBody(nil)).must(t, 201).decode(t, &c)
			w.b.c.do("POST", "/v1/cards/"+c.ID+"/reveal", nil).must(t, 200).decode(t, &own)
			if ans := w.b.c.do("POST", "/v1/cards/import", imp(map[string]any{"pan": own.PAN})); ans.Status != 409 || ans.slug() != "pan_taken" {
				t.Errorf("tenant B importing its own card's PAN: %d %s, want 409 pan_taken", ans.Status, ans.Body)
			}
		}
	case "createCardBatch":
		return func() {
			var bat struct {
				ID string `json:"batch_id"`
			}
			ans := w.b.c.do("POST", "/v1/card-batches", map[string]any{"request_id": "isolation-b-probe", "card_batch_info": []any{
				cardBody(map[string]any{"product_id": a.virtualProduct}), cardBody(map[string]any{"product_id": missingID(a.virtualProduct)}),
				cardBody(map[string]any{"cardholder_id": a.ids["cardholders"], "card_holder_name": nil}),
				cardBody(map[string]any{"cardholder_id": missingID(a.ids["cardholders"]), "card_holder_name": nil}),
				cardBody(nil)}}).must(t, 202)
			w.scan(ans)
			ans.decode(t, &bat)
			var got struct {
				Status string
				Items  []struct {
					Status    string
					ErrorSlug string `json:"error_slug"`
				}
			}
			pollUntil(t, 30*time.Second, "tenant B's batch", func() bool {
				w.settle()
				ans := w.b.c.do("GET", "/v1/card-batches/"+bat.ID, nil).must(t, 200)
				ans.decode(t, &got)
				if got.Status == "completed" {
					// Item errors name the ids B sent in the batch.
					w.echoed = map[string]bool{a.virtualProduct: true, a.ids["cardholders"]: true}
					w.scan(ans)
					return true
				}
				return false
			})
			it := got.Items
			if len(it) != 5 || it[0].ErrorSlug != "product_not_found" || it[0] != it[1] || it[2].ErrorSlug != "cardholder_not_found" || it[2] != it[3] || it[4].Status != "succeeded" {
				t.Errorf("tenant B's batch naming tenant A's product and cardholder: %+v; want product_not_found and cardholder_not_found exactly as for missing ones, and the last item issued", it)
			}
		}
	case "createCardProduct":
		return func() {
			var tpls struct {
				Data []struct{ ID string } `json:"data"`
			}
			w.b.c.do("GET", "/v1/data-prep-templates", nil).must(t, 200).decode(t, &tpls)
			var lays struct {
				Data []struct {
					ID string `json:"layout_id"`
				} `json:"data"`
			}
			w.b.c.do("GET", "/v1/card-layouts", nil).must(t, 200).decode(t, &lays)
			body := func(extra map[string]any) map[string]any {
				m := map[string]any{"name": "Tenant B product", "layout_id": lays.Data[0].ID, "data_prep_template_id": tpls.Data[0].ID,
					"default_embosser_id": b.seededEmbosser, "currency": "USD", "card_type": "VIRTUAL"}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}
			w.b.c.do("POST", "/v1/card-products", body(nil)).must(t, 201)
			for member, v := range map[string]string{"layout_id": a.ids["card-layouts"], "data_prep_template_id": a.ids["data-prep-templates"],
				"default_embosser_id": a.ids["embossers"]} {
				w.sameAsMissing("createCardProduct with tenant A's "+member, 404, func(missing bool) apiAnswer {
					if missing {
						v = missingID(v)
					}
					return w.b.c.do("POST", "/v1/card-products", body(map[string]any{member: v}))
				})
			}
		}
	case "createDataPrepTemplate":
		return func() {
			body := func(extra map[string]any) map[string]any {
				m := map[string]any{"name": "Tenant B template", "network": "VISA", "iin": b.bins.visa + "99", "cvn": 18, "aid": "A0000000031010",
					"service_code": "201", "imk_ac_key_reference": b.imkAC, "cvk_key_reference": b.cvk, "pvk_key_reference": b.pvk}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}
			w.b.c.do("POST", "/v1/data-prep-templates", body(nil)).must(t, 201)
			if w.related == "child" {
				// A sub-account's templates may use its parent's BIN
				// ranges and HSM keys (docs/api.md "Sub-accounts").
				w.scan(w.b.c.do("POST", "/v1/data-prep-templates", body(map[string]any{"iin": a.bins.visa + "22", "imk_ac_key_reference": a.imkAC,
					"cvk_key_reference": a.cvk, "pvk_key_reference": a.pvk})).must(t, 201))
				return
			}
			// A's IIN answers as one of no tenant's BIN range.
			ans := w.sameAsMissing("createDataPrepTemplate with tenant A's IIN", 422, func(missing bool) apiAnswer {
				iin := a.bins.visa + "22"
				if missing {
					iin = "49999922"
				}
				return w.b.c.do("POST", "/v1/data-prep-templates", body(map[string]any{"iin": iin}))
			})
			if ans.slug() != "iin_outside_bin_ranges" {
				t.Errorf("tenant B's template with tenant A's IIN: %d %s, want 422 iin_outside_bin_ranges", ans.Status, ans.Body)
			}
			for member, v := range map[string]string{"imk_ac_key_reference": a.imkAC, "cvk_key_reference": a.cvk, "pvk_key_reference": a.pvk} {
				w.sameAsMissing("createDataPrepTemplate with tenant A's "+member, 422, func(missing bool) apiAnswer {
					if missing {
						v = "key_" + strings.Repeat("a", len(v)-4)
					}
					return w.b.c.do("POST", "/v1/data-prep-templates", body(map[string]any{member: v}))
				})
			}
		}
	case "createEmbosser":
		return func() {
			w.b.c.do("POST", "/v1/embossers", map[string]any{"name": "Tenant B embosser", "type": "LOOPBACK", "transport_key_reference": b.kek}).must(t, 201)
			if w.related == "child" { // its parent's transport key is one it may name
				w.scan(w.b.c.do("POST", "/v1/embossers", map[string]any{"name": "Tenant B embosser", "type": "LOOPBACK", "transport_key_reference": a.kek}).must(t, 201))
				return
			}
			w.sameAsMissing("createEmbosser with tenant A's transport key", 422, func(missing bool) apiAnswer {
				ref := a.kek
				if missing {
					ref = "key_" + strings.Repeat("a", len(ref)-4)
				}
				return w.b.c.do("POST", "/v1/embossers", map[string]any{"name": "Tenant B embosser", "type": "LOOPBACK", "transport_key_reference": ref})
			})
		}
	case "simulateDeposit":
		// Names no object: B credits its own program balance, and A's is
		// untouched (the row comparison at the end).
		return func() {
			w.scan(w.b.c.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "USD", "amount": 700}).must(t, 201))
		}
	case "createCardLayout":
		return func() {
			w.scan(w.b.c.do("POST", "/v1/card-layouts", map[string]any{"layout": "isolation-b-own-layout"}).must(t, 201))
		}
	case "createCardholder":
		return func() {
			w.scan(w.b.c.do("POST", "/v1/cardholders", map[string]any{"first_name": "Bruno", "last_name": "Walker"}).must(t, 201))
		}
	case "createCertificate":
		return func() {
			csr := newCSR(t)
			w.scan(w.b.c.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": csr}).must(t, 201))
			// A's own CSR sent by B: a new key reference of B's, never A's.
			ans := w.b.c.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": a.csrPEM}).must(t, 201)
			w.scan(ans)
		}
	case "createWebhookEndpoint":
		return func() {
			var own struct {
				ID string `json:"id"`
			}
			ans := w.b.c.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "https://hooks.tenant-b.example/x", "event_types": []string{"card.*"}}).must(t, 201)
			w.scan(ans)
			ans.decode(t, &own)
			// B's own event redelivered to A's endpoint: not found, as a missing one.
			var evs struct {
				Data []struct{ ID string } `json:"data"`
			}
			w.settle()
			w.b.c.do("GET", "/v1/events?limit=1&type=card.*", nil).must(t, 200).decode(t, &evs)
			if len(evs.Data) != 1 {
				t.Fatalf("tenant B has no event to redeliver")
			}
			w.sameAsMissing("redeliverEvent of B's event to tenant A's endpoint", 404, func(missing bool) apiAnswer {
				ref := a.ids["webhook-endpoints"]
				if missing {
					ref = missingID(ref)
				}
				return w.b.c.do("POST", "/v1/events/"+evs.Data[0].ID+"/redeliver", map[string]any{"endpoint_id": ref})
			})
			w.scan(w.b.c.do("POST", "/v1/events/"+evs.Data[0].ID+"/redeliver", map[string]any{"endpoint_id": own.ID}).must(t, 202))
		}
	case "createSubAccount":
		return func() {
			want := 201
			if b.sub {
				want = 403 // sub-accounts are one level deep
			}
			w.scan(w.b.c.do("POST", "/v1/sub-accounts", map[string]any{"name": "Isolation B sub-account"}).must(t, want))
		}
	case "createAPIKey":
		return func() {
			w.scan(w.b.c.do("POST", "/v1/api-keys", map[string]any{"name": "isolation", "scopes": []string{}}).must(t, 201))
		}
	case "putAuthorizationDecision", "getAuthorizationDecision", "deleteAuthorizationDecision":
		// B sets, reads and removes its own decision endpoint (one per
		// tenant: nothing of A's can be named).
		return func() {
			w.scan(w.b.c.do("PUT", "/v1/authorization-decision", map[string]any{"url": "https://decide.tenant-b.example/x", "timeout_ms": 1500}).must(t, 200))
			switch id {
			case "putAuthorizationDecision":
			case "getAuthorizationDecision":
				w.scan(w.b.c.do("GET", "/v1/authorization-decision", nil).must(t, 200))
			default:
				w.scan(w.b.c.do("DELETE", "/v1/authorization-decision", nil).must(t, 204))
			}
		}
	case "putSigningKey":
		// Registering a key makes B's later requests need signatures: B
		// registers one as its very last call (TestTenantIsolation); here
		// an invalid key is refused without touching anything.
		return func() {
			ans := w.b.c.do("PUT", "/v1/tenant/signing-key", map[string]any{"key_id": "b", "public_key_pem": "not a key"})
			w.scan(ans)
			if ans.Status != 422 {
				t.Errorf("PUT /v1/tenant/signing-key with a bad key: %d %s", ans.Status, ans.Body)
			}
		}
	case "updateTenant":
		// B changes its own settings (the policy stays optional: the walk
		// goes on without keys); a tenant has no way to name another.
		return func() {
			ans := w.b.c.do("PATCH", "/v1/tenant", map[string]any{"default_currency": "EUR", "idempotency_policy": "optional"})
			w.scan(ans)
			if ans.Status != 200 || !strings.Contains(string(ans.Body), `"default_currency":"EUR"`) {
				t.Errorf("PATCH /v1/tenant: %d %s", ans.Status, ans.Body)
			}
		}
	case "deleteSigningKey":
		return func() {
			ans := w.b.c.do("DELETE", "/v1/tenant/signing-key", nil)
			w.scan(ans)
			if ans.Status != 404 && ans.Status != 204 {
				t.Errorf("DELETE /v1/tenant/signing-key of a tenant without one: %d %s", ans.Status, ans.Body)
			}
		}
	}
	return nil
}

// namespaces checks that the natural keys a tenant chooses are its own:
// B may reuse A's layout identifier, reference_id, batch request_id and
// cardholder email, and gets its own objects (no conflict, no replay of
// A's).
func (w *isolationWalk) namespaces() {
	t, a := w.t, w.a
	for _, v := range []string{a.layoutName, a.refID, a.batchRequestID, a.email} {
		w.shared[v] = true
	}
	w.scan(w.b.c.do("POST", "/v1/card-layouts", map[string]any{"layout": a.layoutName}).must(t, 201))
	w.scan(w.b.c.do("POST", "/v1/cards", map[string]any{"product_id": w.b.seededProduct, "card_holder_name": "TENANT B REF",
		"reference_id": a.refID}).must(t, 201))
	ans := w.b.c.do("POST", "/v1/card-batches", map[string]any{"request_id": a.batchRequestID, "card_batch_info": []any{
		map[string]any{"product_id": w.b.seededProduct, "card_holder_name": "TENANT B BATCH"}}})
	w.scan(ans)
	if ans.Status != 202 {
		t.Errorf("tenant B's batch with tenant A's request_id: %d %s, want 202 (a new batch of B's)", ans.Status, ans.Body)
	}
	w.scan(w.b.c.do("POST", "/v1/cardholders", map[string]any{"first_name": "Bruno", "last_name": "Walker", "email": a.email}).must(t, 201))
	// B's lists now hold these shared values legitimately, and nothing else of A's.
	for _, p := range []string{"/v1/card-layouts", "/v1/cards?reference_id=" + url.QueryEscape(a.refID), "/v1/card-batches", "/v1/cardholders"} {
		w.scan(w.b.c.do("GET", p, nil).must(t, 200))
	}
}

// TestTenantIsolation walks every operation of the server's
// /openapi.json as tenant B against tenant A's objects (a sandbox tenant
// with one object of every kind): each call naming A's object answers 404
// exactly as a missing object would (same status and slug: no existence
// oracle), lists filtered on A's objects are empty, and no answer (body or
// headers) holds any of A's ids or values. Bodies naming A's objects
// (product, cardholder, embosser, layout, template, HSM keys, issuer key,
// card) are answered as if the object did not exist, and a control
// request without A's object succeeds, so the probes are otherwise valid.
// B's own natural keys (layout, reference_id, batch request_id, email) may
// equal A's. Finally every row of A's in every table with a tenant_id is
// unchanged, so nothing B sent changed A. An operation added to the API
// and not handled here fails the test.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, withCards(t))
	a := setUpIsolationTenant(t, e, &apiClient{e: e, key: e.key}, "A")
	bTenant, bKey := newTenantKey(t, e, "Isolation Tenant B")
	b := &isolationTenant{c: &apiClient{e: e, key: bKey}, id: bTenant.ID, values: map[string]string{}}
	walkIsolation(t, e, a, b, "")
}

// TestSubAccountIsolation walks every operation as in TestTenantIsolation,
// between tenants linked by sub-accounts (docs/api.md "Sub-accounts"):
//   - parent: A is a sub-account, its objects made by its parent acting
//     for it (x-on-behalf-of); B is the parent itself, without the header:
//     it reaches none of them;
//   - child: A is a parent; B is its sub-account, with the sub-account's
//     own API key: it reaches nothing of A's but the HSM keys and BIN
//     ranges a sub-account may name, and acts for no other tenant (403);
//   - sibling: A and B are two sub-accounts of one parent, both acted for
//     with the parent's key: neither reaches the other's objects.
//
// In each, a call naming A's object answers exactly as for a missing one,
// no answer holds A's values, and A's rows are unchanged.
func TestSubAccountIsolation(t *testing.T) {
	t.Run("parent", func(t *testing.T) {
		e := newEnv(t, withCards(t))
		parent := &apiClient{e: e, key: e.key}
		sub := newSubAccount(t, parent, "Isolation Sub A")
		a := setUpIsolationTenant(t, e, &apiClient{e: e, key: e.key, onBehalfOf: sub.ID}, "S")
		b := &isolationTenant{c: parent, id: e.tenant.ID, values: map[string]string{}}
		walkIsolation(t, e, a, b, "parent")
	})
	t.Run("child", func(t *testing.T) {
		e := newEnv(t, withCards(t))
		sub := newSubAccount(t, &apiClient{e: e, key: e.key}, "Isolation Sub B")
		var key struct {
			Secret string `json:"secret"`
		}
		(&apiClient{e: e, key: e.key, onBehalfOf: sub.ID}).do("POST", "/v1/api-keys", map[string]any{"name": "its own"}).must(t, 201).decode(t, &key)
		a := setUpIsolationTenant(t, e, &apiClient{e: e, key: e.key}, "P")
		b := &isolationTenant{c: &apiClient{e: e, key: key.Secret}, id: sub.ID, sub: true, values: map[string]string{}}
		walkIsolation(t, e, a, b, "child")
	})
	t.Run("sibling", func(t *testing.T) {
		e := newEnv(t, withCards(t))
		parent := &apiClient{e: e, key: e.key}
		s1, s2 := newSubAccount(t, parent, "Isolation Sibling A"), newSubAccount(t, parent, "Isolation Sibling B")
		a := setUpIsolationTenant(t, e, &apiClient{e: e, key: e.key, onBehalfOf: s1.ID}, "T")
		b := &isolationTenant{c: &apiClient{e: e, key: e.key, onBehalfOf: s2.ID}, id: s2.ID, sub: true, values: map[string]string{}}
		walkIsolation(t, e, a, b, "sibling")
	})
}

// walkIsolation gives B its own catalog, makes A require request
// signatures, walks every operation of /openapi.json as B against A's
// objects, and compares A's rows before and after. related is the
// isolationWalk's.
func walkIsolation(t *testing.T, e *env, a, b *isolationTenant, related string) {
	t.Helper()
	ownCatalog(t, e, b)
	csr := newCSR(t)
	var crt struct {
		IPK string `json:"hsm_key_reference"`
	}
	b.c.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": csr}).must(t, 201).decode(t, &crt)
	b.ipk = crt.IPK

	// A requires request signatures from now on: B must never see its key.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	a.c.do("PUT", "/v1/tenant/signing-key", map[string]any{"key_id": "isolation-a-signing-key", "public_key_pem": pubPEM}).must(t, 200)
	a.add("signing key id", "isolation-a-signing-key")
	a.add("signing public key", strings.Split(pubPEM, "\n")[1])

	// What B legitimately sees of A: its parent sees its id (in its list
	// of sub-accounts); its sub-account sees its parent's id, BIN ranges
	// and the HSM keys it names.
	shared := map[string]bool{}
	switch related {
	case "parent":
		shared[a.id] = true
	case "child":
		for _, v := range []string{a.id, a.values["BIN range"], a.imkAC, a.cvk, a.pvk, a.kek} {
			shared[v] = true
		}
	}
	before := tenantRows(t, e.db, a.id)
	w := &isolationWalk{t: t, a: a, b: b, settle: func() { settle(t, e) }, related: related, shared: shared}
	ops := openAPIOperations(t, e.base)
	for _, op := range ops {
		w.operation(op)
	}
	w.namespaces()
	w.onBehalfProbes()
	// B's last call: its own signing key, which must not replace A's.
	w.scan(b.c.do("PUT", "/v1/tenant/signing-key", map[string]any{"key_id": "isolation-b-signing-key", "public_key_pem": pubPEM}).must(t, 200))

	after := tenantRows(t, e.db, a.id)
	compareTenantRows(t, before, after)
	// The tenants row itself: B's settings change left A's alone.
	if ta, err := e.db.Tenant(context.Background(), a.id); err != nil || ta.DefaultCurrency != "USD" || ta.IdempotencyPolicy != "optional" {
		t.Errorf("tenant A's settings after B's walk: %+v %v", ta.TenantSettings, err)
	}
	var tables []string
	for _, d := range before {
		tables = append(tables, fmt.Sprintf("%s(%d)", d.Name, len(d.Rows)))
	}
	t.Logf("walked %d operations as tenant B; tenant A's rows unchanged in %s", w.ops, strings.Join(tables, " "))
}

// onBehalfProbes names A, and A's sub-account, in B's x-on-behalf-of:
// answered exactly as a missing sub-account (404 sub_account_not_found),
// or, when B is a sub-account, 403 sub_accounts_not_allowed whatever the
// id. (A parent acting for its sub-account, and siblings acted for by one
// key, are the walks themselves.)
func (w *isolationWalk) onBehalfProbes() {
	if w.related == "parent" || w.related == "sibling" {
		return
	}
	want, slug := 404, "sub_account_not_found"
	if w.b.sub {
		want, slug = 403, "sub_accounts_not_allowed"
	}
	targets := map[string]string{"tenant id": w.a.id}
	if id := w.a.ids["sub-accounts"]; id != "" {
		targets["sub-account"] = id
	}
	for name, id := range targets {
		for _, path := range []string{"/v1/tenant", "/v1/cards", "/v1/cards/" + w.a.ids["cards"]} {
			got := w.sameAsMissing("x-on-behalf-of tenant A's "+name+" on "+path, want, func(missing bool) apiAnswer {
				ref := id
				if missing {
					ref = missingID(id)
				}
				return w.b.c.do("GET", path, nil, "x-on-behalf-of", ref)
			})
			if got.slug() != slug {
				w.t.Errorf("x-on-behalf-of tenant A's %s on %s: %d %s, want %d %s", name, path, got.Status, got.Body, want, slug)
			}
		}
	}
}

// compareTenantRows fails the test for every row of the tenant that
// appeared, disappeared or changed between two dumps.
func compareTenantRows(t *testing.T, before, after []tableRows) {
	t.Helper()
	idx := map[string][]string{}
	for _, d := range after {
		idx[d.Name] = d.Rows
	}
	nonEmpty := 0
	for _, d := range before {
		if len(d.Rows) > 0 {
			nonEmpty++
		}
		got := idx[d.Name]
		for _, r := range d.Rows {
			if !slices.Contains(got, r) {
				t.Errorf("tenant A's row in %s changed or vanished: %.400s", d.Name, r)
			}
		}
		for _, r := range got {
			if !slices.Contains(d.Rows, r) {
				t.Errorf("tenant A has a new or changed row in %s: %.400s", d.Name, r)
			}
		}
	}
	if nonEmpty < 8 {
		t.Fatalf("tenant A has rows in only %d tables: the comparison proves little", nonEmpty)
	}
}

// TestAPIKeyRevocationAcrossInstances runs two cardhost instances on one
// database. An API key made on the first works on both; another tenant
// cannot revoke it; once revoked on the first instance, the very next
// request with it on the second is 401, and so is every operation of
// /openapi.json that needs a key, on both instances, while the tenant's
// other key keeps working.
func TestAPIKeyRevocationAcrossInstances(t *testing.T) {
	// Instances sharing a database share the request hash key.
	hashKey := withConfig(func(c *rest.Config) { c.RequestHashKey = []byte("instances-of-one-deployment-key!") })
	ce := newCardEnv(t, hashKey)
	app1, app2 := ce.env, ce.env.instance() // same database, HSM and platform keys
	main1 := &apiClient{e: app1, key: app1.key}
	var key struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	main1.do("POST", "/v1/api-keys", map[string]any{"name": "isolation", "scopes": []string{}}).must(t, 201).decode(t, &key)
	k1, k2 := &apiClient{e: app1, key: key.Secret}, &apiClient{e: app2, key: key.Secret}
	k1.do("GET", "/v1/tenant", nil).must(t, 200)
	k2.do("GET", "/v1/tenant", nil).must(t, 200)
	var card struct {
		ID string `json:"card_id"`
	}
	cardReq := map[string]any{"product_id": ce.cat.product, "card_holder_name": "REVOKE WALK"}
	k2.do("POST", "/v1/cards", cardReq, "Idempotency-Key", "revocation-card").must(t, 201).decode(t, &card)
	// Both instances compare idempotent requests alike: the same request
	// on the other instance is a replay.
	if ans := k1.do("POST", "/v1/cards", cardReq, "Idempotency-Key", "revocation-card"); ans.Status != 201 ||
		ans.Header.Get("Idempotent-Replayed") != "true" || !bytes.Contains(ans.Body, []byte(card.ID)) {
		t.Fatalf("the same idempotent request on the other instance: %d %v %s, want the first answer replayed", ans.Status, ans.Header, ans.Body)
	}

	// Another tenant cannot revoke it.
	_, otherKey, err := app1.svc.CreateTenant(context.Background(), "Revocation Tenant B", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := &apiClient{e: app2, key: otherKey}
	if ans := other.do("POST", "/v1/api-keys/"+key.ID+"/revoke", nil); ans.Status != 404 {
		t.Fatalf("tenant B revoking tenant A's key: %d %s, want 404", ans.Status, ans.Body)
	}
	k2.do("GET", "/v1/tenant", nil).must(t, 200)

	main1.do("POST", "/v1/api-keys/"+key.ID+"/revoke", nil).must(t, 204)
	if ans := k2.do("GET", "/v1/cards/"+card.ID, nil); ans.Status != 401 || ans.slug() != "unauthorized" {
		t.Fatalf("the revoked key on the other instance, at once: %d %s, want 401 unauthorized", ans.Status, ans.Body)
	}
	ids := map[string]string{"cards": card.ID}
	n := 0
	for _, op := range openAPIOperations(t, app1.base) {
		if op.Public {
			continue
		}
		path := op.Path
		if strings.Contains(path, "{id}") {
			id := ids[collectionOf(path)]
			if id == "" {
				id = "xyz_" + strings.Repeat("0", 26)
			}
			path = strings.Replace(path, "{id}", id, 1)
		}
		var body any
		if op.HasBody {
			body = map[string]any{}
		}
		for _, c := range []*apiClient{k1, k2} {
			ans := c.do(op.Method, path, body)
			n++
			rest := bytes.Replace(ans.Body, []byte(`"instance":"`+path+`"`), nil, 1) // the path sent
			if ans.Status != 401 || ans.slug() != "unauthorized" || bytes.Contains(rest, []byte(card.ID)) {
				t.Errorf("revoked key: %s %s on %s: %d %s, want 401 unauthorized", op.Method, path, c.e.base, ans.Status, ans.Body)
			}
		}
	}
	if ans := main1.do("POST", "/v1/api-keys/"+key.ID+"/revoke", nil); ans.Status != 404 {
		t.Errorf("revoking a revoked key: %d %s, want 404", ans.Status, ans.Body)
	}
	// The tenant's other key works on both instances, and lists the revocation.
	main2 := &apiClient{e: app2, key: app1.key}
	main2.do("GET", "/v1/cards/"+card.ID, nil).must(t, 200)
	var keys struct {
		Data []struct {
			ID        string     `json:"id"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"data"`
	}
	main1.do("GET", "/v1/api-keys", nil).must(t, 200).decode(t, &keys)
	revoked := false
	for _, k := range keys.Data {
		if k.ID == key.ID {
			revoked = k.RevokedAt != nil
		} else if k.RevokedAt != nil {
			t.Errorf("key %s was revoked too", k.ID)
		}
	}
	if !revoked {
		t.Errorf("GET /v1/api-keys does not show the revocation: %+v", keys.Data)
	}
	t.Logf("revoked key refused on %d calls over two instances", n)
}

// TestSandboxOnlyRoutesOnProduction runs a production instance on the
// database of a sandbox instance (same HSM and platform keys). There the
// sandbox-only operations of /openapi.json answer another, non-sandbox
// tenant 403 sandbox_only, for the sandbox tenant's objects exactly as for
// missing ones and before any look-up, while the sandbox tenant itself may
// still use them.
func TestSandboxOnlyRoutesOnProduction(t *testing.T) {
	sandbox := newEnv(t, withCards(t))
	a := setUpIsolationTenant(t, sandbox, &apiClient{e: sandbox, key: sandbox.key}, "A")
	prod := sandbox.instance(withoutSandbox())
	_, cKey, err := sandbox.svc.CreateTenant(context.Background(), "Production Tenant C", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &isolationWalk{t: t, a: a, b: &isolationTenant{c: &apiClient{e: prod, key: cKey}}}
	n := 0
	for _, op := range openAPIOperations(t, prod.base) {
		if !op.Sandbox {
			continue
		}
		n++
		if !strings.Contains(op.Path, "{id}") {
			ans := w.b.c.do(op.Method, op.Path, w.bodyFor(op))
			w.scan(ans)
			if ans.Status != 403 || ans.slug() != "sandbox_only" {
				t.Errorf("%s %s on a production server, non-sandbox tenant: %d %s, want 403 sandbox_only", op.Method, op.Path, ans.Status, ans.Body)
			}
			continue
		}
		id := a.ids[collectionOf(op.Path)]
		if id == "" {
			t.Errorf("%s %s: no object of tenant A in %q", op.Method, op.Path, collectionOf(op.Path))
			continue
		}
		w.sameAsMissing(op.ID+" on a production server", 403, func(missing bool) apiAnswer {
			ref := id
			if missing {
				ref = missingID(id)
			}
			return w.b.c.do(op.Method, strings.Replace(op.Path, "{id}", ref, 1), w.bodyFor(op))
		})
	}
	if n < 5 {
		t.Fatalf("the production server lists %d sandbox-only operations", n)
	}
	t.Logf("%d sandbox-only operations refused to a production tenant", n)
	// The sandbox tenant keeps its simulator on the production server.
	(&apiClient{e: prod, key: a.c.key}).do("POST", "/v1/simulator/cards/"+a.ids["cards"]+"/perso", nil).must(t, 200)
}
