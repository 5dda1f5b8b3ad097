package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv/softhsm"
)

// productionEnv returns testEnv in production mode with a master key file
// and, when withKeys, the PAN index key production needs to start
// (generated and assigned as an operator would).
func productionEnv(t *testing.T, withKeys bool) map[string]string {
	t.Helper()
	env := testEnv(t)
	env["CARDHOST_MODE"] = "production"
	env["CARDHOST_MASTER_KEY_FILE"] = filepath.Join(t.TempDir(), "master.key")
	if _, err := softhsm.GenerateMasterKeyFile(env["CARDHOST_MASTER_KEY_FILE"], nil); err != nil {
		t.Fatal(err)
	}
	if withKeys {
		getenv := getenvOf(env)
		idx := firstRef(t, cliOK(t, getenv, "keys", "generate", "--type", "PAN-IDX"))
		cliOK(t, getenv, "keys", "assign", "--role", "pan-idx", "--ref", idx)
	}
	return env
}

// fileLogs returns a file to give startAppLogging (a file takes
// concurrent writes) and a function that reads what it holds so far; also
// used by TestSecretsNeverLeak.
func fileLogs(t *testing.T) (*os.File, func() []byte) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "cardhost.log")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, func() []byte { b, _ := os.ReadFile(name); return b }
}

// TestProductionRefusesEmbeddedKafka: production mode without
// KAFKA_BROKERS does not start on the in-memory broker (whose events are
// lost on restart); it is a configuration error (exit 2) naming
// KAFKA_BROKERS and the single-box opt-in, before anything is opened.
func TestProductionRefusesEmbeddedKafka(t *testing.T) {
	env := productionEnv(t, false)
	for _, optIn := range []string{"", "false"} {
		env["CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION"] = optIn
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"serve"}, getenvOf(env), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "KAFKA_BROKERS") || !strings.Contains(errOut.String(), "CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION") {
			t.Fatalf("opt-in %q: exit %d, stderr %q; want 2 naming KAFKA_BROKERS and the opt-in", optIn, code, errOut.String())
		}
	}
	// The other commands do not need Kafka and keep working.
	if code, _, errs := cli(t, getenvOf(env), "migrate"); code != 0 {
		t.Fatalf("migrate in production without KAFKA_BROKERS: exit %d %s", code, errs)
	}
	env["CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION"] = "maybe"
	if code, _, errs := cli(t, getenvOf(env), "serve"); code != 2 || !strings.Contains(errs, "CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION") {
		t.Fatalf("bad opt-in value: exit %d %q", code, errs)
	}
}

// TestProductionEmbeddedKafkaOptIn: with CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION
// production starts on the embedded broker, logs a WARN line saying so,
// and /readyz stays ready (200) but carries the warning.
func TestProductionEmbeddedKafkaOptIn(t *testing.T) {
	env := productionEnv(t, true)
	env["CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION"] = "true"
	logs, logged := fileLogs(t)
	app := startAppLogging(t, env, logs)

	var warned bool
	for _, l := range strings.Split(string(logged()), "\n") {
		warned = warned || strings.Contains(l, "level=WARN") && strings.Contains(l, "CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION")
	}
	if !warned {
		t.Errorf("no WARN line about the embedded broker in production; logs:\n%s", logged())
	}
	status, _, body := httpGet(t, http.DefaultClient, app.base()+"/readyz", "")
	var ready struct {
		Status   string
		Checks   map[string]string
		Warnings map[string]string
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		t.Fatalf("/readyz: %v %s", err, body)
	}
	if status != 200 || ready.Status != "ready" || !strings.Contains(ready.Warnings["kafka"], "embedded") {
		t.Fatalf("/readyz: %d %s; want 200 ready with a kafka warning", status, body)
	}
}

// TestTenantsCreateSandboxRefusedInProduction: a sandbox tenant (reveal
// without the reveal scope, the simulator, seeded test cards) cannot be
// made on a production database; nothing is created.
func TestTenantsCreateSandboxRefusedInProduction(t *testing.T) {
	getenv, _, _ := cliEnv(t, "production")
	code, out, errs := cli(t, getenv, "tenants", "create", "--name", "Trial", "--sandbox")
	if code != 2 || !strings.Contains(errs, "--sandbox") || !strings.Contains(errs, "production") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 2 refusing --sandbox in production", code, out, errs)
	}
	if list := cliOK(t, getenv, "tenants", "list"); strings.Contains(list, "Trial") {
		t.Fatalf("tenant created anyway:\n%s", list)
	}
}
