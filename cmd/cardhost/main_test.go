package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/consume"
)

// testApp is a cardhost started by the test as `cardhost serve` would,
// on free loopback ports, against a fresh database schema.
type testApp struct {
	*App
	env map[string]string
	// stdout is the operator's output; cardhost writes it only while it
	// opens (the sandbox report), before startApp returns.
	stdout *bytes.Buffer
	done   chan error
	cancel context.CancelFunc
}

// testEnv returns the environment of a test instance: a fresh database,
// a temporary data dir and free ports.
func testEnv(t *testing.T) map[string]string {
	return map[string]string{
		"DATABASE_URL":                 pgtest.URL(t),
		"CARDHOST_DATA_DIR":            t.TempDir(),
		"CARDHOST_HTTP_ADDR":           "127.0.0.1:0",
		"CARDHOST_ISO_ADDR":            "127.0.0.1:0",
		"CARDHOST_EMBEDDED_KAFKA_ADDR": "127.0.0.1:0",
		"CARDHOST_LOG_LEVEL":           "warn",
		"CARDHOST_SHUTDOWN_TIMEOUT":    "10s",
	}
}

func getenvOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// startApp opens and runs cardhost, logging to stderr; it is stopped
// (gracefully) at the end of the test, and the test fails if it did not
// stop cleanly.
func startApp(t *testing.T, env map[string]string) *testApp {
	t.Helper()
	return startAppLogging(t, env, os.Stderr)
}

// startAppLogging is startApp with the app's logs (at the configured level
// and format) written to logs, which must be safe for concurrent writes.
func startAppLogging(t *testing.T, env map[string]string, logs io.Writer) *testApp {
	t.Helper()
	cfg, code := parseConfig("serve", nil, getenvOf(env), os.Stderr)
	if code >= 0 {
		t.Fatalf("config: exit %d", code)
	}
	out := &bytes.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := openApp(ctx, cfg, newLogger(cfg, logs), out)
	if err != nil {
		cancel()
		t.Fatalf("starting cardhost: %v", err)
	}
	ta := &testApp{App: a, env: env, stdout: out, done: make(chan error, 1), cancel: cancel}
	go func() { ta.done <- a.run(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

func (a *testApp) stop(t *testing.T) {
	a.cancel()
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("cardhost stopped with %v", err)
		}
		a.done <- nil
	case <-time.After(30 * time.Second):
		t.Errorf("cardhost did not stop within 30s")
	}
	a.close()
}

func (a *testApp) base() string { return "http://" + a.HTTPAddr() }

func (a *testApp) get(t *testing.T, key, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", a.base()+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

var apiKeyRE = regexp.MustCompile(`chk_[A-Za-z0-9_-]{43}`)

// TestEndToEnd runs the real app on free ports against a fresh database:
// the sandbox tenant, a tenant created with the CLI, the REST API, an ISO
// 8583 echo over TCP and tenant.created read back from the embedded Kafka
// broker with a franz-go consumer.
func TestEndToEnd(t *testing.T) {
	env := testEnv(t)
	app := startApp(t, env)
	if app.SandboxKey == "" || !strings.Contains(app.stdout.String(), "sandbox: tenant") {
		t.Fatalf("first start did not seed and report the sandbox: %q", app.stdout.String())
	}

	// cardhost tenants create, through the same run() as the binary.
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"tenants", "create", "--name", "Acme Issuing"}, getenvOf(env), &out, &errOut); code != 0 {
		t.Fatalf("tenants create: exit %d: %s", code, errOut.String())
	}
	key := apiKeyRE.FindString(out.String())
	if key == "" {
		t.Fatalf("tenants create printed no key: %s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"tenants", "list"}, getenvOf(env), &out, &errOut); code != 0 || !strings.Contains(out.String(), "Acme Issuing") {
		t.Fatalf("tenants list: exit %d: %s", code, out.String())
	}
	if strings.Contains(out.String(), key) {
		t.Fatal("tenants list shows an API key")
	}

	status, body := app.get(t, key, "/v1/tenant")
	var ten struct{ ID, Name string }
	json.Unmarshal(body, &ten)
	if status != 200 || ten.Name != "Acme Issuing" {
		t.Fatalf("GET /v1/tenant: %d %s", status, body)
	}
	if status, _ := app.get(t, "", "/v1/tenant"); status != 401 {
		t.Fatalf("no key: %d", status)
	}
	// cardhost tenants create-key: a key needs a name, shown in listings
	// next to the first key's.
	if code, _, errs := cli(t, getenvOf(env), "tenants", "create-key", "--tenant", ten.ID); code != 2 || !strings.Contains(errs, "missing required flag") {
		t.Fatalf("tenants create-key without --name: exit %d %s", code, errs)
	}
	second := apiKeyRE.FindString(cliOK(t, getenvOf(env), "tenants", "create-key", "--tenant", ten.ID, "--name", "ops backup", "--scopes", "reveal"))
	status, body = app.get(t, second, "/v1/api-keys")
	var keys struct{ Data []struct{ Name string } }
	json.Unmarshal(body, &keys)
	if status != 200 || len(keys.Data) != 2 || keys.Data[0].Name != "first key" || keys.Data[1].Name != "ops backup" {
		t.Fatalf("GET /v1/api-keys with the CLI's key: %d %s", status, body)
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		if status, body := app.get(t, "", p); status != 200 {
			t.Fatalf("%s: %d %s", p, status, body)
		}
	}
	_, metrics := app.get(t, "", "/metrics")
	for _, m := range []string{"go_goroutines", "cardhost_http_requests_total", "cardhost_iso_connections_open", "cardhost_outbox_published_total"} {
		if !bytes.Contains(metrics, []byte(m)) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	// ISO 8583 echo over TCP.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := terminal.Dial(ctx, app.ISOAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Echo(ctx); err != nil {
		t.Fatalf("ISO echo: %v", err)
	}

	// tenant.created for both tenants, from the embedded broker.
	events, err := consume.Collect(ctx, app.Brokers(), kafka.Topic, 2, consume.Types(kafka.TypeTenantCreated))
	if err != nil {
		t.Fatalf("reading events: %v (got %d)", err, len(events))
	}
	names := map[string]bool{}
	for _, ev := range events {
		var d kafka.TenantData
		if err := ev.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		names[d.Name] = true
		if ev.Subject != d.ID || ev.TenantID != d.ID {
			t.Errorf("tenant.created subject %s tenant %s, data id %s", ev.Subject, ev.TenantID, d.ID)
		}
	}
	if !names["Sandbox"] || !names["Acme Issuing"] {
		t.Fatalf("tenant.created events for %v", names)
	}
}

// TestProductionModeRefusesWithoutMasterKey: production never invents keys.
func TestProductionModeRefusesWithoutMasterKey(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_MODE"] = "production"
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"serve"}, getenvOf(env), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "master key") {
		t.Fatalf("production without a master key: exit %d, %q", code, errOut.String())
	}
}

// TestBadFlags: unknown flags and bad values are usage errors (exit 2)
// that name the variable, not its value.
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "--no-such-flag"}, nil, "flag provided but not defined"},
		{[]string{"--mode", "production"}, nil, "the command comes first (flags follow it), e.g. cardhost serve --mode"},
		{[]string{"serve"}, map[string]string{"CARDHOST_MODE": "staging"}, "CARDHOST_MODE"},
		{[]string{"serve"}, map[string]string{"CARDHOST_HTTP_ADDR": "8080"}, "CARDHOST_HTTP_ADDR"},
		{[]string{"serve"}, map[string]string{"CARDHOST_DB_TIMEOUT": "soon"}, "CARDHOST_DB_TIMEOUT"},
		{[]string{"serve"}, map[string]string{"CARDHOST_OUTBOX_RETENTION": "-1h"}, "CARDHOST_OUTBOX_RETENTION"},
		{[]string{"serve"}, map[string]string{"CARDHOST_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, lb.internal"}, "CARDHOST_HTTP_TRUSTED_PROXIES"},
		{[]string{"serve"}, map[string]string{"CARDHOST_HTTP_AUTH_FAILURE_LIMIT": "0"}, "CARDHOST_HTTP_AUTH_FAILURE_LIMIT"},
		{[]string{"serve"}, map[string]string{"CARDHOST_OUTBOX_RETENTION": "forever"}, "CARDHOST_OUTBOX_RETENTION"},
		{[]string{"serve"}, map[string]string{"CARDHOST_OUTBOX_RETENTION": "24h"}, "CARDHOST_OUTBOX_RETENTION"}, // under the Events API's 30 days
		{[]string{"serve"}, map[string]string{"CARDHOST_MASTER_KEY": "", "CARDHOST_ISO_TLS_CERT": "x.pem"}, "CARDHOST_ISO_TLS_KEY"},
		{[]string{"frobnicate"}, nil, "unknown command"},
		{[]string{"crypto", "decrypt"}, nil, "cardhost crypto: unknown subcommand"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.args, getenvOf(tc.env), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 and %q", tc.args, tc.env, code, errOut.String(), tc.want)
		}
	}
}

// TestCryptoSubcommand: `cardhost crypto` reaches the calculator (emv/calc
// tests the calculator itself).
func TestCryptoSubcommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"crypto", "kcv", "--key", "0123456789ABCDEFFEDCBA9876543210"}, getenvOf(nil), &out, &errOut)
	if code != 0 || out.String() != `{"algorithm":"tdes","method":"encrypt-zeros","kcv":"08D7B4"}`+"\n" {
		t.Fatalf("cardhost crypto kcv: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// TestREADMETour runs the tour block of README.md, as written, against a
// running cardhost (ports substituted), twice in a row, so the README
// stays true.
func TestREADMETour(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs commands")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	env := testEnv(t)
	app := startApp(t, env)
	key := app.SandboxKey
	block, _, _, _ := readmeBlock(t, "tour")
	var script []string
	for _, line := range shellCommands(block) {
		if strings.HasPrefix(line, "export KEY=") {
			continue // the test's own key
		}
		line = strings.ReplaceAll(line, "127.0.0.1:8080", app.HTTPAddr())
		line = strings.ReplaceAll(line, "127.0.0.1:8583", app.ISOAddr())
		script = append(script, line)
	}
	for run := 1; run <= 2; run++ { // twice in a row: the tour changes nothing it needs
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.Join(script, "\n"))
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "KEY="+key, "CARDHOST_EMBEDDED_KAFKA_ADDR="+app.Brokers()[0])
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README tour run %d failed: %v\n%s", run, err, out)
		}
		for _, want := range []string{`"name":"Sandbox"`, `"status":"ok"`, "3 sent, 3 answered", `"type":"tenant.created"`} {
			if !strings.Contains(string(out), want) {
				t.Errorf("README tour run %d output lacks %s:\n%s", run, want, out)
			}
		}
	}
}

// TestREADMEWalk runs README's issuing walk (certificate -> key -> template
// -> embosser -> layout -> product -> card -> ACTIVE -> authorization) with
// curl, jq and openssl, as written, against a running cardhost, twice in a
// row: each run creates its own card (fresh idempotency keys), and leaves
// no temporary folder behind. A step that fails stops the walk with its
// error answer.
func TestREADMEWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("runs commands")
	}
	for _, tool := range []string{"curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	app := startApp(t, testEnv(t))
	block, _, _, _ := readmeBlock(t, "walk")
	tmp := t.TempDir()
	walk := func(key string) (string, error) {
		cmd := exec.Command("bash", "-c", strings.Join(shellCommands(block), "\n"))
		cmd.Env = append(os.Environ(), "KEY="+key, "CARDHOST="+app.base(), "TMPDIR="+tmp)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	cardRE := regexp.MustCompile(`"card_id": "(crd_[0-9A-Z]+)"`)
	var cards []string
	for run := 1; run <= 2; run++ {
		out, err := walk(app.SandboxKey)
		if err != nil {
			t.Fatalf("README walk run %d failed: %v\n%s", run, err, out)
		}
		for _, want := range []string{`"hsm_key_reference": "ipk_`, `"algorithm": "ECDH-P256"`, `"status": "ACTIVE"`,
			`"embossing_status": "ISSUED"`, `"response_code": "00"`, `"reason": "approved"`, `"spent": 1250`} {
			if !strings.Contains(out, want) {
				t.Errorf("README walk run %d output lacks %s:\n%s", run, want, out)
			}
		}
		m := cardRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("README walk run %d shows no card:\n%s", run, out)
		}
		cards = append(cards, m[1])
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Fatalf("README walk run %d left %d entries in TMPDIR", run, len(left))
		}
	}
	if cards[0] == cards[1] {
		t.Fatalf("the second walk replayed the first one's card %s", cards[0])
	}
	// A failing step stops the walk and shows the error answer.
	out, err := walk("chk_not_a_key")
	if err == nil || !strings.Contains(out, "answered HTTP 401") || strings.Contains(out, "response_code") {
		t.Fatalf("README walk with a wrong key: %v\n%s", err, out)
	}
}

// TestREADMETermsim runs README's termsim block (build, a card exported for
// the simulator, one authorization, every scenario, a short load with the
// baseline) against a running cardhost, ports substituted, twice in a row.
func TestREADMETermsim(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs commands")
	}
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	app := startApp(t, testEnv(t))
	block, _, _, _ := readmeBlock(t, "termsim")
	var script []string
	for _, line := range shellCommands(block) {
		line = strings.ReplaceAll(line, "127.0.0.1:8583", app.ISOAddr())
		line = strings.ReplaceAll(line, "127.0.0.1:9092", app.Brokers()[0])
		line = strings.ReplaceAll(line, "./termsim", "$BIN/termsim")
		line = strings.ReplaceAll(line, "-o termsim ", "-o $BIN/termsim ")
		line = strings.ReplaceAll(line, "> ada.json", "> $BIN/ada.json")
		line = strings.ReplaceAll(line, "--perso ada.json", "--perso $BIN/ada.json")
		script = append(script, line)
	}
	bin := t.TempDir()
	for run := 1; run <= 2; run++ { // twice in a row, in the same folder: a new card each run
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.Join(script, "\n"))
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "KEY="+app.SandboxKey, "CARDHOST="+app.base(), "BIN="+bin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README termsim block run %d failed: %v\n%s", run, err, out)
		}
		for _, want := range []string{"approved", "host/bare throughput"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("README termsim run %d output lacks %q:\n%s", run, want, out)
			}
		}
	}
}

// TestSimulatorAuthorizationCaptureReversal drives the sandbox simulator
// endpoints (real ISO messages through the host's own port) and reads the
// records and the spend back through the API.
func TestSimulatorAuthorizationCaptureReversal(t *testing.T) {
	app := startApp(t, testEnv(t))
	api := newAPIClient(t, app.base(), app.SandboxKey)
	product := virtualProduct(t, api)
	var card struct {
		ID string `json:"card_id"`
	}
	api.do("POST", "/v1/cards", map[string]any{"product_id": product, "card_holder_name": "ADA LOVELACE", "card_limit": 10000}).must(t, 201).decode(t, &card)
	type authz struct {
		ID       string `json:"authorization_id"`
		Code     string `json:"response_code"`
		Reason   string `json:"reason"`
		Status   string `json:"status"`
		Held     int64  `json:"held_amount"`
		Original string `json:"original_authorization_id"`
		Kind     string `json:"kind"`
	}
	var a1, a2, capture, reversal authz
	api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card.ID, "amount": 3000}).must(t, 201).decode(t, &a1)
	api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card.ID, "amount": 2000}).must(t, 201).decode(t, &a2)
	if a1.Code != "00" || a2.Code != "00" || a1.Status != "OPEN" {
		t.Fatalf("authorizations %+v %+v", a1, a2)
	}
	api.do("POST", "/v1/simulator/authorizations/"+a1.ID+"/capture", map[string]any{"amount": 2500}).must(t, 201).decode(t, &capture)
	api.do("POST", "/v1/simulator/authorizations/"+a2.ID+"/reversal", map[string]any{"remaining_amount": 500}).must(t, 201).decode(t, &reversal)
	if capture.Kind != "capture" || capture.Original != a1.ID || reversal.Kind != "reversal" || reversal.Original != a2.ID {
		t.Fatalf("capture %+v, reversal %+v", capture, reversal)
	}
	var got authz
	api.do("GET", "/v1/authorizations/"+a1.ID, nil).must(t, 200).decode(t, &got)
	if got.Status != "CAPTURED" || got.Held != 2500 {
		t.Fatalf("captured authorization %+v", got)
	}
	api.do("GET", "/v1/authorizations/"+a2.ID, nil).must(t, 200).decode(t, &got)
	if got.Held != 500 {
		t.Fatalf("partially reversed authorization %+v", got)
	}
	var spend struct {
		CardLimit struct{ Limit, Spent, Available int64 } `json:"card_limit"`
	}
	api.do("GET", "/v1/cards/"+card.ID+"/spend", nil).must(t, 200).decode(t, &spend)
	if spend.CardLimit.Spent != 3000 || spend.CardLimit.Available != 7000 {
		t.Fatalf("spend %+v, want 2500 captured + 500 still held", spend)
	}
	var list struct {
		Data []authz `json:"data"`
	}
	api.do("GET", "/v1/cards/"+card.ID+"/authorizations?limit=10", nil).must(t, 200).decode(t, &list)
	if len(list.Data) != 4 || list.Data[0].ID != reversal.ID {
		t.Fatalf("card authorizations %+v, want 4, newest first", list.Data)
	}
	// The simulated cardholder types the card's expiry and CVV2; without
	// them (or with other digits) the host's card-not-present rules answer.
	for _, tc := range []struct {
		body         map[string]any
		code, reason string
	}{
		{map[string]any{"entry_mode": "manual"}, "00", "approved"},
		{map[string]any{"cvv2": "none"}, "82", "cvv2_missing"},
		{map[string]any{"expiry": "none", "entry_mode": "manual"}, "30", "expiry_missing"},
		{map[string]any{"expiry": "3001"}, "54", "card_expired"},
	} {
		tc.body["card_id"], tc.body["amount"] = card.ID, 100
		api.do("POST", "/v1/simulator/authorizations", tc.body).must(t, 201).decode(t, &got)
		if got.Code != tc.code || got.Reason != tc.reason {
			t.Fatalf("simulated %v: %s %s, want %s %s", tc.body, got.Code, got.Reason, tc.code, tc.reason)
		}
	}
	if a := api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card.ID, "amount": 100, "cvv2": "12"}); a.Status != 422 || a.slug() != "validation_failed" {
		t.Fatalf("a 2-digit cvv2: %d %s", a.Status, a.Body)
	}
}

// virtualProduct is the id of the sandbox tenant's active virtual-card
// product.
func virtualProduct(t *testing.T, api *apiClient) string {
	t.Helper()
	var products struct {
		Data []struct {
			ID       string `json:"product_id"`
			CardType string `json:"card_type"`
		} `json:"data"`
	}
	api.do("GET", "/v1/card-products?status=ACTIVE", nil).must(t, 200).decode(t, &products)
	for _, p := range products.Data {
		if p.CardType == "VIRTUAL" {
			return p.ID
		}
	}
	t.Fatal("the sandbox tenant has no active virtual-card product")
	return ""
}

func TestTrustedProxiesParse(t *testing.T) {
	cfg, err := loadConfig(flag.NewFlagSet("serve", flag.ContinueOnError), nil,
		getenvOf(map[string]string{"CARDHOST_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1,::1"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cfg.HTTPTrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.0.2.1/32 ::1/128" {
		t.Fatalf("trusted proxies %v", got)
	}
}
