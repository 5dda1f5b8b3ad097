package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/consume"
	"github.com/cardhost/cardhost/kafka/embedded"
)

// binEnv turns a test environment into a process environment, with HOME
// (and so the default data folder) in home.
func binEnv(env map[string]string, home string) []string {
	out := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// TestStartFromAnotherFolderRefusesASecondMasterKey: a database seeded
// under one master key, then the binary started from another working
// directory with the default data folder (where no key file is): before,
// cardhost generated a second master key there and reported ready while
// every key operation failed; now it refuses (exit 2) naming the check
// value the database's keys are wrapped under, and generates nothing.
// With a different key file at the default place it names both check
// values; with the old default (.cardhost in the working directory)
// holding the right key it names that folder.
func TestStartFromAnotherFolderRefusesASecondMasterKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := testEnv(t)
	first := env["CARDHOST_DATA_DIR"]
	app := startApp(t, env)
	app.stop(t)
	want, err := softhsm.MasterKeyFileKCV(filepath.Join(first, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBinaries(t, t.TempDir(), "cmd/cardhost")[0]
	delete(env, "CARDHOST_DATA_DIR")

	start := func(t *testing.T, wd, home string) (int, string) {
		t.Helper()
		// A cardhost that starts instead of refusing is stopped after a while.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "serve")
		cmd.Dir, cmd.Env = wd, binEnv(env, home)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stderr.String()
	}
	stateKey := func(home string) string { return filepath.Join(home, ".local", "state", "cardhost", "master.key") }

	t.Run("no key file at the default place", func(t *testing.T) {
		home := t.TempDir()
		code, out := start(t, t.TempDir(), home)
		if code != 2 || !strings.Contains(out, "KCV "+want) || !strings.Contains(out, "CARDHOST_DATA_DIR") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Fatalf("exit %d, want 2 and one line naming KCV %s and CARDHOST_DATA_DIR:\n%s", code, want, out)
		}
		if _, err := os.Stat(stateKey(home)); !os.IsNotExist(err) {
			t.Fatalf("a master key file was generated at %s (%v)", stateKey(home), err)
		}
	})
	t.Run("another key at the default place", func(t *testing.T) {
		home := t.TempDir()
		os.MkdirAll(filepath.Dir(stateKey(home)), 0o700)
		other, err := softhsm.GenerateMasterKeyFile(stateKey(home), nil)
		if err != nil {
			t.Fatal(err)
		}
		code, out := start(t, t.TempDir(), home)
		if code != 2 || !strings.Contains(out, "KCV "+want) || !strings.Contains(out, "KCV "+other) {
			t.Fatalf("exit %d, want 2 naming KCV %s (stored) and %s (configured):\n%s", code, want, other, out)
		}
	})
	t.Run("the old default folder holds the key", func(t *testing.T) {
		wd := t.TempDir()
		os.Mkdir(filepath.Join(wd, ".cardhost"), 0o700)
		b, err := os.ReadFile(filepath.Join(first, "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wd, ".cardhost", "master.key"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out := start(t, wd, t.TempDir())
		if code != 2 || !strings.Contains(out, "CARDHOST_DATA_DIR="+filepath.Join(wd, ".cardhost")) {
			t.Fatalf("exit %d, want 2 naming CARDHOST_DATA_DIR=%s:\n%s", code, filepath.Join(wd, ".cardhost"), out)
		}
	})
	t.Run("the right key from another folder starts", func(t *testing.T) {
		env["CARDHOST_DATA_DIR"] = first
		defer delete(env, "CARDHOST_DATA_DIR")
		a := startApp(t, env)
		if status, body := a.get(t, "", "/readyz"); status != 200 || !strings.Contains(string(body), `"hsm":"ok"`) {
			t.Fatalf("/readyz: %d %s", status, body)
		}
		if !strings.Contains(a.stdout.String(), "tenants create-key --tenant ten_") {
			t.Fatalf("a restart did not say how to get a new sandbox key:\n%s", a.stdout.String())
		}
	})
}

// TestReadyzNotReadyUnderAnotherMasterKey: a key record wrapped under
// another master key appears in the database of a running instance (a
// restore, another instance's master key): /readyz answers 503 naming both
// check values; once the record is gone it is ready again.
func TestReadyzNotReadyUnderAnotherMasterKey(t *testing.T) {
	app := startApp(t, testEnv(t))
	ctx, pool := context.Background(), app.db.Pool()
	have := app.hsm.MasterKCV()
	const other = "0A1B2C"
	if _, err := pool.Exec(ctx, `INSERT INTO hsm_keys (ref, version, type, usage, spec, kcv, status, created_at, activated_at, master_kcv, wrapped)
		SELECT 'key_othermaster', 1, type, usage, spec, kcv, status, created_at, activated_at, $1, wrapped FROM hsm_keys LIMIT 1`, other); err != nil {
		t.Fatal(err)
	}
	if status, body := app.get(t, "", "/readyz"); status != 503 || !strings.Contains(string(body), `"not_ready"`) ||
		!strings.Contains(string(body), "KCV "+other) || !strings.Contains(string(body), "KCV "+have) {
		t.Fatalf("/readyz with a key under master key %s (this one %s): %d %s; want 503 naming both", other, have, status, body)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM hsm_keys WHERE ref = 'key_othermaster'`); err != nil {
		t.Fatal(err)
	}
	if status, body := app.get(t, "", "/readyz"); status != 200 || !strings.Contains(string(body), `"hsm":"ok"`) {
		t.Fatalf("/readyz once the key is gone: %d %s", status, body)
	}
}

// TestStartErrorsNameTheSetting: a start that fails on a setting exits 2
// with one line naming what to change: the busy port's variable, or the
// database (without its password) with the question whether PostgreSQL
// runs.
func TestStartErrorsNameTheSetting(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	production := map[string]string{"CARDHOST_MODE": "production", "CARDHOST_MASTER_KEY": strings.Repeat("ab", 32)}
	for _, tc := range []struct {
		name, key, value string
		want, not        []string
		more             map[string]string
	}{
		{"busy ISO port", "CARDHOST_ISO_ADDR", busy.Addr().String(), []string{"CARDHOST_ISO_ADDR", "in use", busy.Addr().String()}, nil, nil},
		{"busy HTTP port", "CARDHOST_HTTP_ADDR", busy.Addr().String(), []string{"CARDHOST_HTTP_ADDR", "in use"}, nil, nil},
		{"busy Kafka port", "CARDHOST_EMBEDDED_KAFKA_ADDR", busy.Addr().String(), []string{"CARDHOST_EMBEDDED_KAFKA_ADDR", "in use"}, nil, nil},
		{"no data folder (no HOME)", "CARDHOST_DATA_DIR", "", []string{"CARDHOST_DATA_DIR", "no default data folder"}, nil, nil},
		{"unreadable TLS certificate", "CARDHOST_HTTP_TLS_CERT", "/nonexistent/cert.pem", []string{"CARDHOST_HTTP_TLS_CERT", "CARDHOST_HTTP_TLS_KEY"}, nil, nil},
		{"not a database URL", "DATABASE_URL", "postgres://u:s3cret@host:notaport/db", []string{"DATABASE_URL", "not a PostgreSQL connection string"}, []string{"s3cret"}, nil},
		{"no PostgreSQL", "DATABASE_URL", "postgres://postgres:s3cret@" + closedAddr(t) + "/cardhost_nowhere?sslmode=disable",
			[]string{"is PostgreSQL running", "/cardhost_nowhere", "DATABASE_URL"}, []string{"s3cret"}, nil},
		{"unknown database role", "DATABASE_URL", "role:cardhost_no_such_role",
			[]string{"refused the role or database", "DATABASE_URL (--database-url)", "cardhost_no_such_role:xxxxx@"}, []string{"s3cret", "is PostgreSQL running"}, nil},
		{"no Kafka broker answers (production)", "KAFKA_BROKERS", closedAddr(t),
			[]string{"no Kafka broker of KAFKA_BROKERS answered within 10s (tried 127.0.0.1:", "KAFKA_BROKERS (--kafka-brokers)"}, []string{strings.Repeat("ab", 32)}, production},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t)
			testDB := env["DATABASE_URL"]
			env[tc.key] = tc.value
			maps.Copy(env, tc.more)
			if role, ok := strings.CutPrefix(tc.value, "role:"); ok { // the test database's server, another role
				u, err := url.Parse(testDB)
				if err != nil {
					t.Fatal(err)
				}
				u.User = url.UserPassword(role, "s3cret")
				env[tc.key] = u.String()
			}
			if tc.key == "CARDHOST_HTTP_TLS_CERT" {
				env["CARDHOST_HTTP_TLS_KEY"] = "/nonexistent/key.pem"
			}
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code := run(ctx, []string{"serve"}, getenvOf(env), &out, &errOut)
			msg := errOut.String()
			if code != 2 || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Fatalf("exit %d, want 2 and one line:\n%s", code, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(msg, n) {
					t.Errorf("message shows %q:\n%s", n, msg)
				}
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestEventsSurviveARestart: the embedded broker keeps its log in memory;
// after a restart it is refilled from the outbox's retained events, so
// `events tail --from-beginning` prints the history instead of hanging.
// On an empty topic the tail says that it waits; with no broker it fails
// with the next step.
func TestEventsSurviveARestart(t *testing.T) {
	env := testEnv(t)
	first := startApp(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := consume.Collect(ctx, first.Brokers(), kafka.Topic, 1, consume.Types(kafka.TypeTenantCreated)); err != nil {
		t.Fatalf("tenant.created before the restart: %v", err)
	}
	first.stop(t)
	second := startApp(t, env)

	tail := func(t *testing.T, broker string, timeout time.Duration, args ...string) (int, string, string) {
		t.Helper()
		e := maps.Clone(env)
		e["CARDHOST_EMBEDDED_KAFKA_ADDR"] = broker
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"events", "tail"}, args...), getenvOf(e), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errs := tail(t, second.Brokers()[0], 20*time.Second, "--from-beginning", "--limit", "1", "--type", "tenant.created")
	if code != 0 || !strings.Contains(out, `"type":"tenant.created"`) {
		t.Fatalf("events tail --from-beginning after a restart: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	empty, err := embedded.Start(embedded.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	code, out, errs = tail(t, empty.Addrs()[0], 3*time.Second, "--from-beginning")
	if code != 0 || out != "" || !strings.Contains(errs, "holds no events yet; waiting") {
		t.Fatalf("events tail on an empty topic: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = tail(t, closedAddr(t), 30*time.Second, "--from-beginning")
	if code != 1 || !strings.Contains(errs, "is `cardhost serve` running") {
		t.Fatalf("events tail with no broker: exit %d, stderr %q", code, errs)
	}
}

// TestREADMETenants runs README's way back from a lost sandbox key, as
// written (the lost key's id substituted), twice in a row: tenants list,
// create-key, the key list with the new key, revoke-key. The old key then
// answers 401; the second run makes another key and says the lost one was
// already revoked, and both new keys work.
func TestREADMETenants(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs commands")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	env := testEnv(t)
	app := startApp(t, env)
	_, body := app.get(t, app.SandboxKey, "/v1/api-keys")
	var keys struct {
		Data []struct{ ID, Name string }
	}
	if err := json.Unmarshal(body, &keys); err != nil || len(keys.Data) != 1 {
		t.Fatalf("GET /v1/api-keys: %s", body)
	}
	lost := keys.Data[0].ID
	block, _, _, _ := readmeBlock(t, "tenants")
	script := strings.ReplaceAll(strings.Join(shellCommands(block), "\n"), "--key key_...", "--key "+lost)
	script += "\necho \"NEWKEY=$KEY\""
	var newKeys []string
	for run := 1; run <= 2; run++ {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "KEY="+app.SandboxKey, "CARDHOST="+app.base())
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README tenants block run %d failed: %v\n%s", run, err, out)
		}
		revoked := "API key " + lost + " revoked"
		if run == 2 {
			revoked = "API key " + lost + " was already revoked"
		}
		for _, want := range []string{"Sandbox", `"name":"laptop"`, revoked} {
			if !strings.Contains(string(out), want) {
				t.Errorf("README tenants block run %d output lacks %s:\n%s", run, want, out)
			}
		}
		m := regexp.MustCompile(`NEWKEY=(chk_\S+)`).FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("README tenants block run %d made no key:\n%s", run, out)
		}
		newKeys = append(newKeys, m[1])
	}
	if status, _ := app.get(t, app.SandboxKey, "/v1/tenant"); status != 401 {
		t.Fatalf("the revoked key answers %d", status)
	}
	for i, k := range newKeys {
		if status, _ := app.get(t, k, "/v1/tenant"); status != 200 || (i == 1 && k == newKeys[0]) {
			t.Fatalf("the key made by run %d answers %d", i+1, status)
		}
	}
	// An unknown key is still an error.
	var tenant struct{ ID string }
	if _, body := app.get(t, newKeys[0], "/v1/tenant"); json.Unmarshal(body, &tenant) != nil || tenant.ID == "" {
		t.Fatalf("GET /v1/tenant: %s", body)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"tenants", "revoke-key", "--tenant", tenant.ID, "--key", "key_nope"}, getenvOf(env), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "not found") {
		t.Fatalf("revoke-key of an unknown key: exit %d, %q %q; want 1, not found", code, out.String(), errOut.String())
	}
}

// TestHelp: `cardhost --help`, `-h`, `help` list the commands (exit 0),
// bare `cardhost` too (on stderr, exit 2); a command's -h shows its own
// flags with their types, not the server's forty settings (every
// subcommand: TestSubcommandHelp); serve's -h shows the settings typed,
// with their defaults and never a value taken from the environment.
func TestHelp(t *testing.T) {
	help := func(env map[string]string, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, getenvOf(env), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out := help(nil, args...)
		if code != 0 {
			t.Errorf("cardhost %v: exit %d", args, code)
		}
		for _, cmd := range []string{"serve", "migrate", "tenants", "keys", "acquirers", "crypto", "events", "config", "version"} {
			if !strings.Contains(out, "\n  "+cmd+" ") {
				t.Errorf("cardhost %v does not list %s:\n%s", args, cmd, out)
			}
		}
	}
	for _, args := range [][]string{{"events", "tail", "-h"}, {"help", "events"}} {
		code, out := help(nil, args...)
		if args[0] == "help" { // help events: the command's usage
			if code != 0 || !strings.Contains(out, "cardhost events tail") {
				t.Errorf("cardhost %v: exit %d\n%s", args, code, out)
			}
			continue
		}
		if code != 0 || !strings.Contains(out, "--limit int") || !strings.Contains(out, "--from-beginning\n") || strings.Contains(out, "--database-url") || strings.Contains(out, "--http-addr") {
			t.Errorf("cardhost %v: exit %d, want its own typed flags only:\n%s", args, code, out)
		}
	}
	// Bare cardhost lists the commands too, on stderr, as bad usage (the
	// go tool's way); the server is cardhost serve.
	var out0, errOut0 bytes.Buffer
	if code := run(context.Background(), nil, getenvOf(nil), &out0, &errOut0); code != 2 || out0.Len() != 0 || !strings.Contains(errOut0.String(), "\n  serve ") {
		t.Errorf("bare cardhost: exit %d, stdout %q, stderr %q; want 2 and the command list on stderr", code, out0.String(), errOut0.String())
	}
	secret := strings.Repeat("ab", 32)
	code, out := help(map[string]string{"CARDHOST_MASTER_KEY": secret, "CARDHOST_DB_TIMEOUT": "7s"}, "serve", "-h")
	for _, want := range []string{"--db-timeout duration", "--http-addr host:port", "--http-rate-limit int", "(default 2s)", "--mode sandbox|production", "--embedded-kafka-in-production\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("cardhost serve -h lacks %q:\n%s", want, out)
		}
	}
	if code != 0 || strings.Contains(out, secret) || strings.Contains(out, "7s") || strings.Contains(out, " string\n") && strings.Count(out, " string\n") > 3 {
		t.Errorf("cardhost serve -h: exit %d, shows the environment's values or untyped flags:\n%s", code, out)
	}
	// A boolean setting is a boolean flag.
	cfg, err := loadConfig(flag.NewFlagSet("x", flag.ContinueOnError), []string{"--embedded-kafka-in-production"}, getenvOf(map[string]string{"CARDHOST_DATA_DIR": "/tmp"}))
	if err != nil || !cfg.EmbeddedKafkaInProduction {
		t.Fatalf("--embedded-kafka-in-production alone: %v %v", cfg.EmbeddedKafkaInProduction, err)
	}
}

// TestJSONAnswersEndWithANewline: answers, problems and the OpenAPI
// document end with a newline (a shell prompt after curl starts on its
// own line).
func TestJSONAnswersEndWithANewline(t *testing.T) {
	app := startApp(t, testEnv(t))
	for _, tc := range []struct{ key, path string }{{"", "/healthz"}, {"", "/openapi.json"}, {app.SandboxKey, "/v1/tenant"}, {"", "/v1/tenant"}, {app.SandboxKey, "/v1/cards/crd_nope"}} {
		_, body := app.get(t, tc.key, tc.path)
		if !bytes.HasSuffix(body, []byte("}\n")) {
			t.Errorf("GET %s: the answer does not end with a newline: %q", tc.path, body[max(0, len(body)-20):])
		}
	}
}

// TestSubcommandHelp: every subcommand's -h lists exactly its own flags,
// each typed (booleans bare, as the flag package shows them): a sibling's
// flag, or the server's settings, fail it. The subcommands are read from
// each command's usage, so a new one must be added here.
func TestSubcommandHelp(t *testing.T) {
	want := map[string]map[string][]string{
		"tenants": {
			"create": {"name", "parent", "sandbox", "scopes"}, "list": nil, "create-key": {"name", "scopes", "tenant"},
			"revoke-key": {"key", "tenant"}, "add-bin": {"bin", "tenant"}, "remove-bin": {"bin", "tenant"}, "bins": {"tenant"},
			"set": {"default-currency", "idempotency-policy", "tenant"},
		},
		"keys": {
			"list": {"tenant", "type"}, "generate": {"label", "spec", "tenant", "type"},
			"import": {"component", "component-kcv", "kcv", "label", "spec", "tenant", "type"},
			"export": {"ref", "under"}, "rotate": {"ref", "retire-after"}, "reindex": nil, "assign": {"ref", "role"}, "roles": nil,
		},
		"acquirers": {
			"add":    {"id", "mac-required", "name", "pin-formats", "zak-ref", "zpk-ref"},
			"update": {"id", "mac-required", "name", "pin-formats", "zak-ref", "zpk-ref"}, "list": nil,
		},
		"funding": {
			"credit": {"amount", "currency", "operator", "reason", "reference", "tenant"},
			"debit":  {"amount", "currency", "operator", "reason", "reference", "tenant"},
		},
		"ledger":   {"check": nil},
		"reports":  {"settlement": {"date", "json", "tenant"}},
		"clearing": {"import": nil},
		"events":   {"tail": {"from-beginning", "limit", "tenant", "type"}},
		"migrate":  {"": {"database-url", "db-timeout", "log-format", "log-level"}},
	}
	// A command that went past -h would find no database here.
	env := getenvOf(map[string]string{"DATABASE_URL": "postgres://postgres@" + closedAddr(t) + "/nowhere?sslmode=disable&connect_timeout=2"})
	flagLine := regexp.MustCompile(`(?m)^  --([a-z0-9-]+)( \S+)?$`)
	for cmd, subs := range want {
		if cmd != "migrate" {
			var usage bytes.Buffer
			run(context.Background(), []string{cmd, "-h"}, env, &usage, &usage)
			listed := map[string]bool{}
			for _, m := range regexp.MustCompile(`cardhost `+cmd+` ([a-z][a-z-]*)`).FindAllStringSubmatch(usage.String(), -1) {
				listed[m[1]] = true
			}
			if len(listed) != len(subs) {
				t.Errorf("cardhost %s -h lists the subcommands %v; this test knows %d of them", cmd, slices.Sorted(maps.Keys(listed)), len(subs))
			}
		}
		for sub, flags := range subs {
			args := []string{cmd, sub, "-h"}
			if sub == "" {
				args = []string{cmd, "-h"}
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), args, env, &out, &errOut)
			var got []string
			for _, m := range flagLine.FindAllStringSubmatch(errOut.String(), -1) {
				got = append(got, m[1])
				if m[2] == "" && !slices.Contains([]string{"sandbox", "mac-required", "json", "from-beginning"}, m[1]) {
					t.Errorf("cardhost %s -h: --%s has no type", strings.Join(args[:len(args)-1], " "), m[1])
				}
			}
			if code != 0 || !slices.Equal(got, flags) {
				t.Errorf("cardhost %s: exit %d, flags %v; want exactly %v:\n%s", strings.Join(args, " "), code, got, flags, errOut.String())
			}
		}
	}
	// A sibling's flag is not taken.
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"acquirers", "list", "--zpk-ref", "key_x"}, env, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "not defined: -zpk-ref") {
		t.Errorf("acquirers list --zpk-ref: exit %d, %q; want 2, flag not defined", code, errOut.String())
	}
}
