package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/loadgen"
	"github.com/cardhost/cardhost/cmd/termsim/scenario"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
)

// cardhostProc is a cardhost binary serving on free loopback ports with a
// fresh database schema, for the end-to-end tests of the termsim binary.
type cardhostProc struct {
	iso, http, kafka string
	key              string
	termsim          string // path of the termsim binary
}

// buildBinaries builds cardhost and termsim into dir.
func buildBinaries(t *testing.T, dir string) (cardhost, termsimBin string) {
	t.Helper()
	cardhost, termsimBin = filepath.Join(dir, "cardhost"), filepath.Join(dir, "termsim")
	for _, b := range []struct{ out, pkg string }{{cardhost, "./cmd/cardhost"}, {termsimBin, "./cmd/termsim"}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return cardhost, termsimBin
}

// startCardhost builds both binaries and starts cardhost in sandbox mode;
// it is stopped (SIGINT) when the test ends.
func startCardhost(t *testing.T) *cardhostProc {
	t.Helper()
	dbURL := pgtest.URL(t) // skips under -short; dropped after cardhost stops
	dir := t.TempDir()
	cardhostBin, termsimBin := buildBinaries(t, dir)
	p := &cardhostProc{iso: terminaltest.ClosedPort(t), http: terminaltest.ClosedPort(t), kafka: terminaltest.ClosedPort(t), termsim: termsimBin}
	cmd := exec.Command(cardhostBin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"CARDHOST_MODE=sandbox",
		"CARDHOST_DATA_DIR="+filepath.Join(dir, "data"),
		"CARDHOST_HTTP_ADDR="+p.http,
		"CARDHOST_ISO_ADDR="+p.iso,
		"CARDHOST_EMBEDDED_KAFKA_ADDR="+p.kafka,
		"CARDHOST_HTTP_RATE_LIMIT=-1",
		"CARDHOST_LOG_LEVEL=warn",
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("cardhost logs:\n%s", logs.String())
		}
	})
	keys := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`^\s+(chk_[A-Za-z0-9_-]+)\s*$`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				keys <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case p.key = <-keys:
	case <-exited:
		t.Fatalf("cardhost exited:\n%s", logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("no sandbox API key on cardhost's stdout:\n%s", logs.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + p.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cardhost not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p
}

// termsimRun runs the termsim binary and returns its exit code and output.
func (p *cardhostProc) termsimRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.termsim, args...)
	cmd.Dir = "../.."
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running termsim: %v", err)
	}
	return code, stdout.String(), stderr.String()
}

func (p *cardhostProc) replayArgs(files ...string) []string {
	return append([]string{"replay", "--host", p.iso, "--api", "http://" + p.http, "--key", p.key, "--kafka", p.kafka, "--parallel", "4"}, files...)
}

// TestAgainstCardhost runs the termsim binary against a cardhost binary:
// every scenario of testdata/scenarios must pass (they state DESIGN.md,
// not what the host happens to do), a scenario with a wrong expectation
// must fail with a report that says what was expected and what came back,
// and auth and load must work with cards made through the API.
func TestAgainstCardhost(t *testing.T) {
	p := startCardhost(t)

	t.Run("replay testdata/scenarios", func(t *testing.T) {
		files, err := filepath.Glob("../../testdata/scenarios/*")
		if err != nil || len(files) == 0 {
			t.Fatalf("no scenarios: %v", err)
		}
		for i := range files {
			files[i] = strings.TrimPrefix(files[i], "../../")
		}
		start := time.Now()
		code, out, errOut := p.termsimRun(t, p.replayArgs(files...)...)
		if code != exitOK {
			t.Errorf("replay exit %d after %v\n%s\n%s", code, time.Since(start), failing(out), errOut)
		}
		if !regexp.MustCompile(fmt.Sprintf(`\n%d scenarios: %d passed, 0 failed`, len(files), len(files))).MatchString(out) && code == exitOK {
			t.Errorf("summary:\n%s", out)
		}
	})

	t.Run("a wrong expectation fails with a clear report", func(t *testing.T) {
		f := writeFile(t, t.TempDir(), "wrong.yaml", `name: deliberately wrong
setup:
  cards:
    card: {network: MASTERCARD, cvn: 17}
steps:
  - name: approved purchase expected to be declined
    auth: {card: card, amount: 1000}
    expect: {code: "51", reason: card_limit_exceeded, arpc: valid}
  - name: right expectation
    auth: {card: card, amount: 1000}
    expect: {code: "00", reason: approved, arpc: valid}
`)
		code, out, errOut := p.termsimRun(t, p.replayArgs(f)...)
		if code != exitFail {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		for _, want := range []string{
			"FAIL deliberately wrong",
			"FAIL  1 auth       approved purchase expected to be declined (line 6)",
			"BAD code                 want 51 insufficient funds",
			"got 00 approved",
			"BAD reason               want card_limit_exceeded",
			"got approved",
			"ok  ARPC (tag 91)        want valid",
			"PASS  2 auth       right expectation",
			"1 scenarios: 0 passed, 1 failed; 2 steps, 1 failed",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
	})

	// A card made through the API, exported for the simulator.
	api, err := scenario.NewAPI("http://"+p.http, p.key, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	products, err := api.Products(ctx)
	if err != nil || len(products) == 0 {
		t.Fatalf("products: %v", err)
	}
	// The list is newest first: the last is the seeded sandbox product
	// (VIRTUAL); the newest may be a PLASTIC product the scenarios made.
	seeded := products[len(products)-1]
	info, err := api.CreateCard(ctx, scenario.CardRequest{ProductID: seeded.ID, CardHolderName: "END TO END"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.SetSandboxPIN(ctx, info.CardID, "2580"); err != nil {
		t.Fatal(err)
	}
	exp, err := api.ExportPerso(ctx, info.CardID)
	if err != nil {
		t.Fatal(err)
	}
	persoFile := filepath.Join(t.TempDir(), "perso.json")
	data, _ := json.Marshal(exp)
	if err := os.WriteFile(persoFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("auth", func(t *testing.T) {
		tests := []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--entry", "chip", "--pin", "card", "--amount", "1234"}, exitOK, "decision: approved, 00 (approved), approval code"},
			{[]string{"--entry", "contactless"}, exitOK, "ARPC valid"},
			{[]string{"--entry", "ecommerce", "--cvv2", "card"}, exitOK, "decision: approved"},
			{[]string{"--entry", "chip", "--pin", "0000"}, exitFail, "decision: declined, 55 (incorrect PIN), ARPC valid"},
			{[]string{"--entry", "magstripe", "--type", "refund"}, exitOK, "decision: approved"},
			// The sandbox MAC acquirer: MACed under its published ZAK, the
			// answer's MAC checked; without a MAC, refused.
			{[]string{"--entry", "magstripe", "--acquirer", "00000000002", "--mac"}, exitOK, "decision: approved, 00 (approved), approval code"},
			{[]string{"--entry", "magstripe", "--acquirer", "00000000002", "--mac"}, exitOK, "MAC valid"},
			{[]string{"--entry", "magstripe", "--acquirer", "00000000002"}, exitFail, "decision: declined, 63 (security violation), MAC valid"},
		}
		for _, tc := range tests {
			code, out, errOut := p.termsimRun(t, append([]string{"auth", "--host", p.iso, "--perso", persoFile}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("auth %v: exit %d, want %d and %q\n%s\n%s", tc.args, code, tc.code, tc.want, out, errOut)
			}
		}
	})

	t.Run("load with a baseline", func(t *testing.T) {
		jsonPath := filepath.Join(t.TempDir(), "load.json")
		code, out, errOut := p.termsimRun(t, "load", "--host", p.iso, "--api", "http://"+p.http, "--key", p.key, "--cards", "8",
			"--connections", "2", "--inflight", "2", "--duration", "1s", "--baseline", "--json", jsonPath, "--quiet")
		if code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		if !regexp.MustCompile(`host/bare throughput \d\.\d\d`).MatchString(out) || !strings.Contains(out, "0 unexpected, 0 errors, 0 timeouts") {
			t.Errorf("report:\n%s", out)
		}
		var b loadgen.Baseline
		data, _ := os.ReadFile(jsonPath)
		if err := json.Unmarshal(data, &b); err != nil || b.Host.Answered == 0 || b.Bare.Answered == 0 || b.ThroughputRatio <= 0 {
			t.Errorf("JSON report: %v\n%s", err, data)
		}
	})
}

// failing returns the report lines of failing scenarios and steps (the
// whole report is long).
func failing(out string) string {
	var b strings.Builder
	show := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "FAIL "), strings.HasPrefix(l, "  FAIL"):
			show = true
		case strings.HasPrefix(l, "PASS "), strings.HasPrefix(l, "  PASS"):
			show = false
		}
		if show || strings.Contains(l, "scenarios:") || strings.Contains(l, "failed:") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
