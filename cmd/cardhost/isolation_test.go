package main

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/rest"
	"github.com/cardhost/cardhost/issuance/webhook"
)

// The tenant isolation walk of the REST API is issuance/rest's
// TestTenantIsolation (with TestSandboxOnlyRoutesOnProduction and
// TestAPIKeyRevocationAcrossInstances): it calls every operation the REST
// server publishes when wired without the authorization host. The host's
// operations need ISO 8583 traffic through the running binary (an
// authorization made by the simulator on the host's own port), so they are
// walked here.

// hostOperations are the operations the REST server publishes only when
// wired to the authorization host, with the collection their {id} names
// ("" for none).
var hostOperations = map[string]string{
	"listCardAuthorizations": "cards",
	"getCardSpend":           "cards",
	"getAuthorization":       "authorizations",
	"simulateCapture":        "authorizations",
	"simulateReversal":       "authorizations",
	"simulateClearing":       "authorizations",
	"simulateExpiry":         "authorizations",
	"simulateAuthorization":  "",
}

// restWalked returns the operation ids of the REST server wired without
// the host: those issuance/rest's walk calls.
func restWalked(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	// The REST walk's server has the webhook and money routes (issuance/rest
	// wires them in its tests), not the host's.
	srv, err := rest.New(rest.Config{Sandbox: true}, rest.Deps{Webhooks: webhook.NewService(webhook.Deps{}), Ledger: ledger.NewService(ledger.Deps{})}, nil, reg, reg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	ids := map[string]bool{}
	for _, op := range openAPIOperations(t, "http://"+ln.Addr().String()) {
		ids[op.ID] = true
	}
	return ids
}

// hostProbe sends two requests that differ only in naming one of tenant
// A's objects or a missing one, and fails unless they are answered alike
// (status and slug) with want, and unless no answer holds A's values other
// than those sent.
func hostProbe(t *testing.T, what string, want int, aValues map[string]string, send func(missing bool) apiAnswer) {
	t.Helper()
	got, ref := send(false), send(true)
	for _, ans := range []apiAnswer{got, ref} {
		var hdr bytes.Buffer
		for k, vs := range ans.Header {
			hdr.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
		for name, v := range aValues {
			if strings.Contains(ans.Path, v) || bytes.Contains(ans.Request, []byte(v)) {
				continue
			}
			if bytes.Contains(ans.Body, []byte(v)) || bytes.Contains(hdr.Bytes(), []byte(v)) {
				t.Errorf("%s %s (another tenant) answered %d with tenant A's %s: %.300s", ans.Method, ans.Path, ans.Status, name, ans.Body)
			}
		}
	}
	if got.Status != want {
		t.Errorf("%s: another tenant naming tenant A's object: %s %s answered %d %s, want %d", what, got.Method, got.Path, got.Status, got.Body, want)
	}
	if got.Status != ref.Status || got.slug() != ref.slug() {
		t.Errorf("%s: another tenant's object answers %d %s but a missing one %d %s: an existence oracle", what, got.Status, got.slug(), ref.Status, ref.slug())
	}
	if got.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("%s: another tenant got a replayed answer", what)
	}
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

// luhnPAN returns a random Luhn-valid 16-digit PAN with the prefix.
func luhnPAN(t *testing.T, prefix string) string {
	t.Helper()
	digits := []byte(prefix)
	for len(digits) < 15 {
		n, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			t.Fatal(err)
		}
		digits = append(digits, byte('0'+n.Int64()))
	}
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return string(append(digits, byte('0'+(10-sum%10)%10)))
}

// firstProduct returns the tenant's first product id.
func firstProduct(t *testing.T, c *apiClient) string {
	t.Helper()
	var prds struct {
		Data []struct {
			ID string `json:"product_id"`
		} `json:"data"`
	}
	c.do("GET", "/v1/card-products", nil).must(t, 200).decode(t, &prds)
	if len(prds.Data) == 0 {
		t.Fatal("no product")
	}
	return prds.Data[0].ID
}

// TestTenantIsolationOfHostOperations runs the real app, where sandbox
// tenant A has a card and an authorization made through the ISO simulator.
// Tenant B calls each host operation on A's card or authorization: 404
// exactly as for a missing one (no existence oracle), and no answer holds
// A's ids or values; B's own card is authorized. Then A's rows in every
// table with a tenant_id are unchanged. (A production instance has no
// simulator, so the sandbox-only host operations do not exist there.)
// Every operation the app publishes is walked either here or by
// issuance/rest's TestTenantIsolation.
func TestTenantIsolationOfHostOperations(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_HTTP_RATE_LIMIT"] = "-1"
	app := startApp(t, env)
	a := newAPIClient(t, app.base(), app.sandboxKey(t))

	walked := restWalked(t)
	for _, op := range openAPIOperations(t, app.base()) {
		if _, host := hostOperations[op.ID]; host == walked[op.ID] {
			t.Errorf("%s %s (%s) must be walked by exactly one of issuance/rest's TestTenantIsolation and this test (host operation: %v)", op.Method, op.Path, op.ID, host)
		}
	}

	var ten struct{ ID string }
	a.do("GET", "/v1/tenant", nil).must(t, 200).decode(t, &ten)
	var card struct {
		ID    string `json:"card_id"`
		RefNo string `json:"reference_number"`
	}
	a.do("POST", "/v1/cards", map[string]any{"product_id": firstProduct(t, a), "card_holder_name": "QUINTESSA ISOLADA"}).must(t, 201).decode(t, &card)
	var rev struct{ PAN string }
	a.do("POST", "/v1/cards/"+card.ID+"/reveal", nil).must(t, 200).decode(t, &rev)
	var auth struct {
		ID   string `json:"authorization_id"`
		Code string `json:"response_code"`
	}
	a.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card.ID, "amount": 1234}).must(t, 201).decode(t, &auth)
	if auth.Code != "00" {
		t.Fatalf("tenant A's authorization answered %s", auth.Code)
	}
	ids := map[string]string{"cards": card.ID, "authorizations": auth.ID}
	values := map[string]string{"tenant id": ten.ID, "API key": a.key, "cards id": card.ID, "authorizations id": auth.ID,
		"card reference number": card.RefNo, "PAN": rev.PAN}

	_, bKey := cliTenant(t, env, "Isolation Tenant B", true)
	b := newAPIClient(t, app.base(), bKey)
	conn := dbConn(t, env["DATABASE_URL"])
	waitFor(t, 20*time.Second, "the outbox to be published and ingested by the webhook dispatcher", func() bool {
		var n int
		if err := conn.QueryRow(t.Context(), `SELECT (SELECT n FROM ch_outbox_backlog('relay')) + (SELECT n FROM ch_outbox_backlog('webhooks'))`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	before := dumpTables(t, conn, ten.ID)

	bodies := map[string]any{"simulateCapture": map[string]any{"amount": 100}, "simulateReversal": map[string]any{},
		"simulateClearing": map[string]any{"amount": 100}, "simulateExpiry": map[string]any{}}
	for _, op := range openAPIOperations(t, app.base()) {
		coll, host := hostOperations[op.ID]
		if !host || coll == "" {
			continue
		}
		hostProbe(t, op.ID, 404, values, func(missing bool) apiAnswer {
			ref := ids[coll]
			if missing {
				ref = missingID(ref)
			}
			return b.do(op.Method, strings.Replace(op.Path, "{id}", ref, 1), bodies[op.ID])
		})
	}
	var own struct {
		ID string `json:"card_id"`
	}
	b.do("POST", "/v1/cards", map[string]any{"product_id": firstProduct(t, b), "card_holder_name": "TENANT B WALK"}).must(t, 201).decode(t, &own)
	b.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": own.ID, "amount": 100}).must(t, 201)
	hostProbe(t, "simulateAuthorization with tenant A's card", 404, values, func(missing bool) apiAnswer {
		id := card.ID
		if missing {
			id = missingID(id)
		}
		return b.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": id, "amount": 100})
	})

	after := dumpTables(t, conn, ten.ID)
	for i, d := range before {
		if !slices.Equal(d.Rows, after[i].Rows) {
			t.Errorf("tenant A's rows in %s changed: %d before, %d after", d.Name, len(d.Rows), len(after[i].Rows))
		}
	}
}
